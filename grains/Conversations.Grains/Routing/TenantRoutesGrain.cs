using Conversations.Providers;
using Conversations.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Conversations.Grains.Routing;

/// <summary>The aliases a tenant can call: the platform's routes, and the ones the tenant defined or overrode.</summary>
public sealed class TenantRoutesGrain(
    [PersistentState("routes", StorageNames.Conversations)] IPersistentState<TenantRoutesState> state,
    IOptions<RoutingOptions> options,
    ILogger<TenantRoutesGrain> logger) : Grain, ITenantRoutesGrain
{
    public Task<IReadOnlyList<ModelDescription>> ListModels()
    {
        var models = options.Value.Routes.ToDictionary(r => r.Key, r => Listing(r.Key, r.Value), StringComparer.Ordinal);
        foreach (var (alias, own) in state.State.Own)
        {
            models[alias] = own;
        }

        return Task.FromResult<IReadOnlyList<ModelDescription>>([.. models.Values.OrderBy(m => m.Id, StringComparer.Ordinal)]);
    }

    public Task<bool> Owns(string alias) => Task.FromResult(state.State.Own.ContainsKey(alias));

    public Task<GatewayError?> Register(string alias, ModelDescription? model)
    {
        if (state.State.Own.GetValueOrDefault(alias) == model)
        {
            return Task.FromResult<GatewayError?>(null); // already so: no write
        }

        var own = new Dictionary<string, ModelDescription>(state.State.Own, StringComparer.Ordinal);
        if (model is null)
        {
            own.Remove(alias);
        }
        else
        {
            own[alias] = model;
        }

        return state.TryReplace(new TenantRoutesState { Own = own }, this, logger);
    }

    /// <summary>How <c>/v1/models</c> lists a route.</summary>
    public static ModelDescription Listing(string alias, RouteConfig route) => new(alias, OwnedBy(route), route.ContextWindow);

    private static string OwnedBy(RouteConfig route) =>
        route.Deployments.All(d => d.Provider == ProviderKind.Simulated) ? "conversations-simulated" : "conversations";
}

[GenerateSerializer, Alias("conv.TenantRoutesState")]
public sealed record TenantRoutesState
{
    [Id(0)] public IReadOnlyDictionary<string, ModelDescription> Own { get; init; } = new Dictionary<string, ModelDescription>();
}
