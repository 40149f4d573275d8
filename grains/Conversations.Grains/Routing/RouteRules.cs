using System.Text.RegularExpressions;
using Conversations.Routing;
using Conversations.Providers;

namespace Conversations.Grains.Routing;

/// <summary>
/// What makes a route valid, for the platform's configured routes and for tenants' overrides alike.
/// A tenant's deployment may call a provider only through a credential shared with that tenant,
/// whose base URL it inherits and whose model list prices it (<see cref="ProviderCredential"/>): a
/// tenant cannot send a key to an address of its choosing, make the gateway call arbitrary URLs,
/// nor set its own prices.
/// </summary>
public static partial class RouteRules
{
    public const int MaxDeployments = 16;

    /// <summary>The most a provider's <c>retry-after</c> cools a deployment down.</summary>
    public static readonly TimeSpan MaxCoolDown = TimeSpan.FromMinutes(5);

    /// <param name="tenant">The tenant whose own route this is; <c>null</c> for a platform route.</param>
    public static GatewayError? Validate(RouteConfig route, IReadOnlyDictionary<string, ProviderCredential> credentials, string? tenant)
    {
        if (route.Deployments is not { Count: > 0 and <= MaxDeployments } deployments)
        {
            return Invalid($"A route needs 1 to {MaxDeployments} deployments.", "deployments");
        }

        if (deployments.Select(d => d.Name).Distinct(StringComparer.Ordinal).Count() != deployments.Count)
        {
            return Invalid("Deployment names must be unique within a route.", "deployments");
        }

        foreach (var deployment in deployments)
        {
            if (Deployment(deployment, credentials, tenant) is { } invalid)
            {
                return invalid;
            }
        }

        if (route.Strategy is RouteStrategy.Weighted or RouteStrategy.Sticky && deployments.All(d => d.Weight == 0))
        {
            return Invalid("A weighted or sticky route needs at least one deployment with a weight above 0.", "deployments");
        }

        if (route.Strategy == RouteStrategy.Canary && (route.CanaryDeployment is null || route.Find(route.CanaryDeployment) is null || deployments.Count < 2))
        {
            return Invalid("A canary route needs 'canary_deployment' naming one of at least two deployments.", "canary_deployment");
        }

        return route.CanaryPercent is < 0 or > 100 ? Invalid("'canary_percent' must be between 0 and 100.", "canary_percent")
            : route.Retry.MaxRetriesPerDeployment is < 0 or > 5 ? Invalid("'retry.max_retries_per_deployment' must be between 0 and 5.", "retry")
            : route.Retry.BaseDelay < TimeSpan.Zero || route.Retry.MaxDelay > TimeSpan.FromMinutes(1) || route.Retry.BaseDelay > route.Retry.MaxDelay
                ? Invalid("Retry delays must satisfy 0 <= base_delay_ms <= max_delay_ms <= 60000.", "retry")
            : route.Timeouts.Total < TimeSpan.FromSeconds(1) || route.Timeouts.Total > TimeSpan.FromHours(1)
                ? Invalid("'timeouts.total_ms' must be between 1 s and 1 h.", "timeouts")
            : route.Timeouts.FirstToken < TimeSpan.FromMilliseconds(100) || route.Timeouts.Attempt < TimeSpan.FromMilliseconds(100)
                ? Invalid("'timeouts.first_token_ms' and 'timeouts.attempt_ms' must be at least 100 ms (the total timeout caps both).", "timeouts")
            : route.Circuit.FailureRatio is <= 0 or > 1 || route.Circuit.MinimumThroughput < 2
              || route.Circuit.SamplingDuration < TimeSpan.FromMilliseconds(500) || route.Circuit.BreakDuration < TimeSpan.FromMilliseconds(500)
                ? Invalid("Circuit settings need 0 < failure_ratio <= 1, minimum_throughput >= 2, and sampling and break durations of at least 500 ms.", "circuit")
            : route.FallbackStatuses.Any(status => status is < 400 or > 599)
                ? Invalid("'fallback_on_status' lists HTTP error statuses (400 to 599).", "fallback_on_status")
            : null;
    }

    /// <summary>A tenant's route with each provider deployment priced from its credential's model list, whatever the request said.</summary>
    public static RouteConfig PricedForTenant(RouteConfig route, IReadOnlyDictionary<string, ProviderCredential> credentials) => new()
    {
        Strategy = route.Strategy,
        CanaryDeployment = route.CanaryDeployment,
        CanaryPercent = route.CanaryPercent,
        Retry = route.Retry,
        Timeouts = route.Timeouts,
        Circuit = route.Circuit,
        FallbackOnStatus = route.FallbackOnStatus,
        Cache = route.Cache,
        Deployments = [.. route.Deployments.Select(d => d.Provider == ProviderKind.Simulated || d.Credential is null ? d : d.WithPrices(credentials[d.Credential].Models[d.UpstreamModel ?? d.Name]))],
    };

    private static GatewayError? Deployment(RouteDeployment deployment, IReadOnlyDictionary<string, ProviderCredential> credentials, string? tenant)
    {
        if (!NamePattern().IsMatch(deployment.Name))
        {
            return Invalid("Deployment names are 1 to 64 letters, digits, '.', '_', ':' or '-'.", "deployments");
        }

        if (deployment.Weight < 0 || deployment.ContextWindow <= 0 || deployment.MaxOutputTokens <= 0
            || deployment.Prices.InputPerMillion < 0 || deployment.Prices.OutputPerMillion < 0 || deployment.Prices.CachedInputPerMillion < 0)
        {
            return Invalid($"Deployment '{deployment.Name}': weight and prices must not be negative; context_window and max_output_tokens must be positive.", "deployments");
        }

        if (deployment.Provider is ProviderKind.Simulated or ProviderKind.LocalEmbeddings)
        {
            return null;
        }

        ProviderCredential? credential = null;
        if (deployment.Credential is { } name && (!credentials.TryGetValue(name, out credential) || (tenant is not null && !credential.SharedWith(tenant))))
        {
            // The same answer whether the credential is missing or not shared: names of others' credentials stay private.
            return Invalid($"Deployment '{deployment.Name}' may not use credential '{name}'.", "deployments");
        }

        if (tenant is not null && credential is not null && !credential.Models.ContainsKey(deployment.UpstreamModel ?? deployment.Name))
        {
            return Invalid($"Deployment '{deployment.Name}': credential '{deployment.Credential}' does not offer model '{deployment.UpstreamModel ?? deployment.Name}'.", "deployments");
        }

        if (deployment.Provider == ProviderKind.Anthropic && string.IsNullOrEmpty(credential?.ApiKey))
        {
            return Invalid($"Deployment '{deployment.Name}': Anthropic needs a credential with an API key.", "deployments");
        }

        if (tenant is not null && credential?.BaseUrl is null)
        {
            return Invalid($"Deployment '{deployment.Name}': a tenant's route reaches a provider only through a configured credential with a base URL.", "deployments");
        }

        if (credential?.BaseUrl is { } bound && deployment.BaseUrl is { } requested && bound != requested)
        {
            return Invalid($"Deployment '{deployment.Name}': credential '{deployment.Credential}' may only be sent to its own base URL.", "deployments");
        }

        return (credential?.BaseUrl ?? deployment.BaseUrl) is { IsAbsoluteUri: true, Scheme: "http" or "https" }
            ? null
            : Invalid($"Deployment '{deployment.Name}' needs an http(s) base URL including /v1.", "deployments");
    }

    private static GatewayError Invalid(string message, string param) => GatewayError.Invalid(message, param, "invalid_route");

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
