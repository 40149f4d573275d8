using Conversations.Routing;

namespace Conversations.Grains.Routing;

/// <summary>
/// What a silo asks of a route grain that is active elsewhere: a plan, and with it a lease on the route while it is
/// steady, so the silo plans its next calls itself (<see cref="SteadyRoutes"/>) until the lease ends or the grain
/// revokes it. Implemented by <see cref="ModelRouteGrain"/>; silo-internal, so not in the abstractions.
/// See docs/decisions/0089-steady-routes-lent-to-every-silo.md.
/// </summary>
public interface IRouteLeases : IGrainWithStringKey
{
    Task<LeasedPlan> PlanAndLease(PlanRequest request, IRouteLeaseHolder holder);
}

/// <summary>A silo's table of steady routes, as the route grains that lent them reach it.</summary>
public interface IRouteLeaseHolder : IGrainObserver
{
    /// <summary>Ends this silo's lease on the route under <paramref name="key"/>; answered once it has ended.</summary>
    Task Revoke(string key);
}

/// <summary>A plan, and the steady route lent with it for <see cref="For"/> (none while the route is not steady).</summary>
[GenerateSerializer, Immutable, Alias("conv.LeasedPlan")]
public sealed record LeasedPlan(
    [property: Id(0)] Result<RoutePlan> Plan,
    [property: Id(1)] SteadyRoute? Lease,
    [property: Id(2)] TimeSpan For);
