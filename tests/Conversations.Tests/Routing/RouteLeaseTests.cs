using Conversations.Grains.Pipeline;
using Conversations.Grains.Routing;
using Conversations.Routing;
using Conversations.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Conversations.Tests.Routing;

/// <summary>
/// A steady route is lent to every silo that asks its grain for a plan, so calls there plan without a grain call too;
/// the grain stays the authority: a circuit opened by failures on another silo ends the lease, and a route change or
/// rollback ends every lease before it is acknowledged, so the next call on any silo takes the new version.
/// Each silo's own pipeline is used directly, so the test knows where each call runs.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class RouteLeaseTests(ClusterFixture fixture)
{
    [Fact]
    public async Task A_call_on_a_silo_away_from_the_route_grain_plans_without_a_grain_call_once_the_route_is_lent_to_it()
    {
        var (alias, key) = await NewRoute(Only("one"));
        var away = Away(key);
        var table = away.GetRequiredService<SteadyRoutes>();
        var (plans, onLease) = (Plans(key), table.PlannedOnLease);

        var first = await Outcome(away, alias);
        var askedForFirst = Plans(key) - plans;
        var next = new[] { await Outcome(away, alias), await Outcome(away, alias), await Outcome(away, alias) };

        Assert.NotNull(first.Final);
        Assert.Equal(1, askedForFirst);
        Assert.All(next, outcome => Assert.Equal(("one", 1), (outcome.Route?.Deployment, outcome.Route?.RouteVersion)));
        Assert.Equal(askedForFirst, Plans(key) - plans); // none of the next three asked the grain
        Assert.Equal(3, table.PlannedOnLease - onLease);
        Assert.True(table.Leases(key));
    }

    [Fact]
    public async Task A_circuit_opened_by_failures_on_another_silo_ends_the_lease_and_the_grain_refuses_the_next_call()
    {
        var (alias, key) = await NewRoute(new RouteConfig
        {
            Deployments = [new RouteDeployment { Name = "only", Provider = ProviderKind.Simulated }],
            Retry = new RetrySettings { MaxRetriesPerDeployment = 0 },
            Circuit = new CircuitSettings { FailureRatio = 0.5, MinimumThroughput = 2, BreakDuration = TimeSpan.FromMinutes(5) }, // the lessee's success counts too
        });
        var silos = fixture.Cluster.Silos.Select(silo => silo.ServiceProvider).ToList();
        var lessee = Away(key);
        var failing = silos.First(silo => silo != lessee);
        var table = lessee.GetRequiredService<SteadyRoutes>();
        await Outcome(lessee, alias);
        var (leasedBefore, revoked) = (table.Leases(key), table.Revoked);
        var route = fixture.Grains.GetGrain<IModelRouteGrain>(key);
        await Eventually.Get<object>(async () => (await route.Describe()).Value?.Health.Single().Successes == 1 ? new object() : null); // the one-way success report has landed

        var failure = await Outcome(failing, alias, "[sim:status=500] one"); // with the lessee's success: two calls, half failed
        var ended = await Eventually.Get<object>(() => Task.FromResult(table.Revoked > revoked && !table.Leases(key) ? new object() : null)); // revoked, not run out
        var plans = Plans(key);
        var onLessee = await Outcome(lessee, alias, "a healthy request");

        Assert.True(leasedBefore);
        Assert.Equal(502, failure.Error?.Status);
        Assert.NotNull(ended);
        Assert.Equal(("deployments_unavailable", 503), (onLessee.Error?.Code, onLessee.Error?.Status));
        Assert.Equal(plans + 1, Plans(key)); // asked the grain, which refused it
    }

    [Fact]
    public async Task A_route_change_and_a_rollback_end_every_lease_before_they_are_acknowledged()
    {
        var (alias, key) = await NewRoute(Only("one"));
        var route = fixture.Grains.GetGrain<IModelRouteGrain>(key);
        var silos = fixture.Cluster.Silos.Select(silo => silo.ServiceProvider).ToList();
        foreach (var silo in silos)
        {
            await Outcome(silo, alias); // every silo away from the grain now holds a lease on version 1
        }

        var lessees = silos.Select(silo => silo.GetRequiredService<SteadyRoutes>()).Where(table => table.Leases(key)).ToList();
        var revoked = lessees.Select(table => table.Revoked).ToList();
        var changed = await route.Change(Only("two"), "test");
        var confirmed = lessees.Select(table => table.Revoked).ToList(); // the change waited for each silo, not for its lease to run out
        var afterChange = await Task.WhenAll(silos.Select(silo => Outcome(silo, alias)));
        var rolledBack = await route.Rollback(1, "test");
        var afterRollback = await Task.WhenAll(silos.Select(silo => Outcome(silo, alias)));

        Assert.Equal(silos.Count - 1, lessees.Count);
        Assert.All(lessees.Select((_, i) => confirmed[i] - revoked[i]), more => Assert.True(more >= 1));
        Assert.True(changed.IsSuccess && rolledBack.IsSuccess);
        Assert.All(afterChange, outcome => Assert.Equal(("two", 2), (outcome.Route?.Deployment, outcome.Route?.RouteVersion)));
        Assert.All(afterRollback, outcome => Assert.Equal(("one", 3), (outcome.Route?.Deployment, outcome.Route?.RouteVersion)));
    }

    [Fact]
    public async Task Calls_made_inside_grains_on_every_silo_are_lent_the_route_too()
    {
        var (alias, _) = await NewRoute(Only("one"));
        var tables = fixture.Cluster.Silos.Select(silo => silo.ServiceProvider.GetRequiredService<SteadyRoutes>()).ToList();
        var onLease = tables.Sum(table => table.PlannedOnLease);
        var request = new CompletionRequest(alias, [new NewItem(Roles.User, "hello")], StreamDeltas: false);

        // Two calls on each of the inference lanes, which the cluster places across its silos: all but the route grain's
        // silo ask the grain once, then plan on their lease. (A lease holder is made as a silo starts: Orleans refuses
        // to make one inside a grain.)
        var outcomes = new List<CompletionChunk>();
        foreach (var lane in Enumerable.Range(0, InferenceLanes.Count).SelectMany(lane => new[] { lane, lane }))
        {
            await foreach (var chunk in fixture.Grains.GetGrain<IInferenceGrain>(lane.ToString(System.Globalization.CultureInfo.InvariantCulture)).Complete(request))
            {
                outcomes.Add(chunk);
            }
        }

        Assert.Empty(outcomes.OfType<ErrorChunk>().Select(chunk => chunk.Error.Message));
        Assert.Equal(2 * InferenceLanes.Count, outcomes.OfType<FinalChunk>().Count());
        Assert.True(tables.Sum(table => table.PlannedOnLease) > onLease);
    }

    private async Task<(string Alias, string Key)> NewRoute(RouteConfig config)
    {
        var alias = "lent-" + Guid.NewGuid().ToString("N")[..8];
        var key = GrainKeys.For(PlatformRoutes.Tenant, alias);
        var changed = await fixture.Grains.GetGrain<IModelRouteGrain>(key).Change(config, "test");
        Assert.True(changed.IsSuccess, changed.Error?.Message);
        return (alias, key);
    }

    private static RouteConfig Only(string name) => new() { Deployments = [new RouteDeployment { Name = name, Provider = ProviderKind.Simulated }] };

    /// <summary>The services of a silo where the route grain under <paramref name="key"/> is not active (its table does not hold the route).</summary>
    private IServiceProvider Away(string key) =>
        fixture.Cluster.Silos.Select(silo => silo.ServiceProvider).First(silo => !silo.GetRequiredService<SteadyRoutes>().Holds(key));

    private int Plans(string key) => fixture.RoutePlans.Count(planned => planned == key);

    private static Task<CompletionChunk> Outcome(IServiceProvider silo, string alias, string text = "hello") =>
        silo.GetRequiredService<CallPipeline>().Outcome(new CompletionRequest(alias, [new NewItem(Roles.User, text)], StreamDeltas: false));
}
