using Conversations.Providers;
using Conversations.Routing;
using Microsoft.Extensions.Options;

namespace Conversations.Grains.Routing;

/// <summary>
/// Finds a call's route grain and asks it for a plan. A name that is neither a platform route (the silo's
/// configuration) nor one the tenant defined (its route list, one activation per tenant) is refused here,
/// so invented model names never activate a route grain or read its storage.
/// </summary>
public sealed class RoutePlanner(IOptions<RoutingOptions> options, IGrainFactory grains)
{
    public async Task<(IModelRouteGrain Route, Result<RoutePlan> Plan)> Plan(string? tenant, string alias, PlanRequest request)
    {
        var owner = tenant ?? PlatformRoutes.Tenant;
        var route = grains.GetGrain<IModelRouteGrain>(GrainKeys.For(owner, alias));
        if (!options.Value.Routes.ContainsKey(alias) && !await grains.GetGrain<ITenantRoutesGrain>(owner).Owns(alias))
        {
            return (route, GatewayError.ModelNotFound(alias));
        }

        return (route, await route.Plan(request));
    }
}
