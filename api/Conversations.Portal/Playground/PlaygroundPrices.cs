using System.Text.Json;
using Conversations.Tenancy;
using Conversations.Routing;

namespace Conversations.Portal.Playground;

/// <summary>
/// What the playground page needs from the tenant's routes: the chat models the key may call and each deployment's prices,
/// so the page's script can price a turn from the deployment header and the usage of its final event, as the quota
/// ledger prices it (input and output tokens at the deployment's rates).
/// </summary>
public static class PlaygroundPrices
{
    public static async Task<List<string>> ChatModels(IGrainFactory grains, Caller caller)
    {
        var models = (await grains.GetGrain<ITenantRoutesGrain>(caller.Tenant).ListModels())
            .Where(m => caller.MayUseModel(m.Id)).Select(m => m.Id).Order(StringComparer.Ordinal).ToList();
        var routes = await Task.WhenAll(models.Select(model => Route(grains, caller.Tenant, model)));
        return [.. routes.Where(r => r?.Config?.Deployments.Any(d => d.ServesChat) == true).Select(r => r!.Alias)];
    }

    public static async Task<Dictionary<string, ModelPrices>> ByDeployment(IGrainFactory grains, string tenant, IEnumerable<string> models)
    {
        var prices = new Dictionary<string, ModelPrices>(StringComparer.Ordinal);
        foreach (var route in await Task.WhenAll(models.Select(model => Route(grains, tenant, model))))
        {
            foreach (var deployment in route?.Config?.Deployments ?? [])
            {
                prices.TryAdd(deployment.Name, deployment.Prices);
            }
        }

        return prices;
    }

    /// <summary>Prices per million tokens by deployment, as the page's script reads them: <c>{"d":[input,output]}</c>.</summary>
    public static string Json(Dictionary<string, ModelPrices> prices) => JsonSerializer.Serialize(
        prices.ToDictionary(p => p.Key, p => new[] { p.Value.InputPerMillion, p.Value.OutputPerMillion }));

    private static async Task<RouteView?> Route(IGrainFactory grains, string tenant, string model) =>
        await grains.GetGrain<IModelRouteGrain>(GrainKeys.For(tenant, model)).Describe() is { IsSuccess: true } found ? found.Value : null;
}
