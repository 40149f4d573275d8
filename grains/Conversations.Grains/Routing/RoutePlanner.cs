using Conversations.Providers;
using Conversations.Routing;
using Microsoft.Extensions.Options;

namespace Conversations.Grains.Routing;

/// <summary>
/// Finds a call's route grain and its plan: made here when the route is steady and published or lent to this silo
/// (<see cref="SteadyRoutes"/>), asked of the grain otherwise, which lends the route with the plan while it is steady.
/// A name that is neither a platform route (the silo's configuration) nor one the tenant defined (its route list,
/// one activation per tenant) is refused here, so invented model names never activate a route grain or read its storage.
/// </summary>
public sealed class RoutePlanner(IOptions<RoutingOptions> options, IGrainFactory grains, SteadyRoutes steady) : ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>This silo's table as route grains elsewhere reach it, to revoke what they lent; made when the silo starts (not inside a grain, where Orleans refuses it).</summary>
    private IRouteLeaseHolder? _holder;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(RoutePlanner), ServiceLifecycleStage.Active, _ =>
        {
            _holder = grains.CreateObjectReference<IRouteLeaseHolder>(steady);
            return Task.CompletedTask;
        });

    public async ValueTask<(IModelRouteGrain Route, Result<RoutePlan> Plan)> Plan(string? tenant, string alias, PlanRequest request)
    {
        var owner = tenant ?? PlatformRoutes.Tenant;
        var key = GrainKeys.For(owner, alias);
        var route = grains.Reference<IModelRouteGrain>(key);
        if (steady.Plan(key, request) is { } local)
        {
            return (route, local);
        }

        if (!options.Value.Routes.ContainsKey(alias) && !await grains.GetGrain<ITenantRoutesGrain>(owner).Owns(alias))
        {
            return (route, GatewayError.ModelNotFound(alias));
        }

        if (_holder is not { } holder)
        {
            return (route, await route.Plan(request));
        }

        var asked = steady.Ask(key);
        var leased = await grains.Reference<IRouteLeases>(key).PlanAndLease(request, holder);
        steady.Lend(key, leased, asked);
        return (route, leased.Plan);
    }
}
