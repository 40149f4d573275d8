namespace Conversations.Tests.Infrastructure;

/// <summary>
/// Drills that kill real silo processes and read what happens within a time bound (a rate-limit minute, a failover):
/// they run one at a time, after the rest of the suite, so no other test's load stretches their clocks. Those on
/// PostgreSQL share one server (<see cref="DrillBackends"/>), each drill a cluster of its own in it.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class KillDrillCollection : ICollectionFixture<DrillBackends>
{
    public const string Name = "Kill drills";
}
