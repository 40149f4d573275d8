using Conversations.Routing;

namespace Conversations.Providers;

/// <summary>
/// The platform's model routes (<c>Conversations:Routes</c>, alias to route) and the provider
/// credentials they name (<c>Conversations:Credentials</c>). Tenants override routes through the
/// admin API; credentials exist only here, in the silo's configuration or environment.
/// </summary>
public sealed class RoutingOptions
{
    public const string RoutesSection = "Conversations:Routes";
    public const string CredentialsSection = "Conversations:Credentials";

    public Dictionary<string, RouteConfig> Routes { get; init; } = new(StringComparer.Ordinal);

    public Dictionary<string, ProviderCredential> Credentials { get; init; } = new(StringComparer.Ordinal);

    /// <summary>The embedded default: two simulated models, so the service runs with no keys at all.</summary>
    public static Dictionary<string, RouteConfig> EmbeddedRoutes() => new(StringComparer.Ordinal)
    {
        ["sim-small"] = Simulated("sim-small", 16_384, new ModelPrices { InputPerMillion = 0.15m, OutputPerMillion = 0.60m }),
        ["sim-large"] = Simulated("sim-large", 128_000, new ModelPrices { InputPerMillion = 2.50m, OutputPerMillion = 10m }),
        ["local-embeddings"] = new()
        {
            Deployments = [new RouteDeployment { Name = "all-MiniLM-L6-v2", Provider = ProviderKind.LocalEmbeddings, ContextWindow = 256, MaxOutputTokens = 1 }],
        },
    };

    private static RouteConfig Simulated(string name, int contextWindow, ModelPrices prices) => new()
    {
        Deployments = [new RouteDeployment { Name = name, Provider = ProviderKind.Simulated, ContextWindow = contextWindow, Prices = prices }],
    };
}

/// <summary>
/// A provider secret and the endpoint it may be sent to; routes refer to it by name only. Platform
/// routes may use any credential. A tenant's own route may use it only if the tenant is listed in
/// <see cref="Tenants"/>, and only for the upstream models in <see cref="Models"/>, at the prices
/// listed there: a tenant can neither spend the platform's key on models it was not given nor price
/// its own calls below cost to escape its budget.
/// </summary>
public sealed class ProviderCredential
{
    public string? ApiKey { get; init; }

    /// <summary>The base URL (including <c>/v1</c>) this key belongs to. A deployment using the credential calls this URL.</summary>
    public Uri? BaseUrl { get; init; }

    /// <summary>Tenants whose own routes may use this credential; <c>*</c> for every tenant. Empty: platform routes only.</summary>
    public List<string> Tenants { get; init; } = [];

    /// <summary>Upstream model to price, for tenants' routes.</summary>
    public Dictionary<string, ModelPrices> Models { get; init; } = new(StringComparer.Ordinal);

    public bool SharedWith(string tenant) => Tenants.Contains("*") || Tenants.Contains(tenant);
}
