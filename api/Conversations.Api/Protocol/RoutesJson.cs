using Conversations.Routing;

namespace Conversations.Api;

/// <summary>A route as the admin API reads and writes it. Unset fields take the defaults; times are milliseconds.</summary>
public sealed record RouteConfigJson(
    string? Strategy = null,
    List<DeploymentJson>? Deployments = null,
    string? CanaryDeployment = null,
    double? CanaryPercent = null,
    RetryJson? Retry = null,
    TimeoutsJson? Timeouts = null,
    CircuitJson? Circuit = null,
    List<int>? FallbackOnStatus = null,
    CachePolicyJson? Cache = null)
{
    private static readonly (RouteStrategy Value, string Name)[] Strategies =
    [
        (RouteStrategy.Priority, "priority"), (RouteStrategy.Weighted, "weighted"), (RouteStrategy.LeastLatency, "least_latency"),
        (RouteStrategy.LowestCost, "lowest_cost"), (RouteStrategy.Canary, "canary"), (RouteStrategy.Sticky, "sticky"),
    ];

    private static readonly (ProviderKind Value, string Name)[] Providers =
        [(ProviderKind.Simulated, "simulated"), (ProviderKind.OpenAICompatible, "openai_compatible"), (ProviderKind.Anthropic, "anthropic"), (ProviderKind.LocalEmbeddings, "local_embeddings")];

    public static string Name(RouteStrategy strategy) => Strategies.First(s => s.Value == strategy).Name;

    public static string Name(ProviderKind provider) => Providers.First(p => p.Value == provider).Name;

    /// <summary>The route this JSON describes, or the field that is wrong; the route grain checks the rest (<c>RouteRules</c>).</summary>
    public Result<RouteConfig> ToConfig()
    {
        var strategy = Strategy is null ? RouteStrategy.Priority : Parse(Strategies, Strategy);
        if (strategy is null)
        {
            return Invalid($"Invalid 'strategy': expected one of {string.Join(", ", Strategies.Select(s => s.Name))}.", "strategy");
        }

        var deployments = new List<RouteDeployment>();
        foreach (var (json, index) in (Deployments ?? []).Select((d, i) => (d, i)))
        {
            var deployment = json?.ToDeployment();
            if (deployment is null || !deployment.Value.IsSuccess)
            {
                return deployment?.Error ?? Invalid("Each deployment must be an object.", $"deployments[{index}]");
            }

            deployments.Add(deployment.Value.Value);
        }

        var cache = CachePolicyJson.Read(Cache, "cache");
        if (!cache.IsSuccess)
        {
            return cache.Error;
        }

        var defaults = new RouteConfig();
        if (new long?[] { Retry?.BaseDelayMs, Retry?.MaxDelayMs, Timeouts?.TotalMs, Timeouts?.FirstTokenMs, Timeouts?.AttemptMs, Circuit?.SamplingMs, Circuit?.BreakMs }.Any(ms => ms is < 0 or > 86_400_000))
        {
            return Invalid("Durations are milliseconds between 0 and 86400000.", "timeouts");
        }

        return new RouteConfig
        {
            Strategy = strategy.Value,
            Deployments = deployments,
            CanaryDeployment = CanaryDeployment,
            CanaryPercent = CanaryPercent ?? 0,
            Retry = new RetrySettings
            {
                MaxRetriesPerDeployment = Retry?.MaxRetriesPerDeployment ?? defaults.Retry.MaxRetriesPerDeployment,
                BaseDelay = Ms(Retry?.BaseDelayMs) ?? defaults.Retry.BaseDelay,
                MaxDelay = Ms(Retry?.MaxDelayMs) ?? defaults.Retry.MaxDelay,
            },
            Timeouts = new TimeoutSettings
            {
                Total = Ms(Timeouts?.TotalMs) ?? defaults.Timeouts.Total,
                FirstToken = Ms(Timeouts?.FirstTokenMs) ?? defaults.Timeouts.FirstToken,
                Attempt = Ms(Timeouts?.AttemptMs) ?? defaults.Timeouts.Attempt,
            },
            Circuit = new CircuitSettings
            {
                FailureRatio = Circuit?.FailureRatio ?? defaults.Circuit.FailureRatio,
                MinimumThroughput = Circuit?.MinimumThroughput ?? defaults.Circuit.MinimumThroughput,
                SamplingDuration = Ms(Circuit?.SamplingMs) ?? defaults.Circuit.SamplingDuration,
                BreakDuration = Ms(Circuit?.BreakMs) ?? defaults.Circuit.BreakDuration,
            },
            FallbackOnStatus = FallbackOnStatus,
            Cache = cache.Value,
        };
    }

    public static RouteConfigJson From(RouteConfig route) => new(
        Name(route.Strategy),
        [.. route.Deployments.Select(DeploymentJson.From)],
        route.CanaryDeployment,
        route.Strategy == RouteStrategy.Canary ? route.CanaryPercent : null,
        new RetryJson(route.Retry.MaxRetriesPerDeployment, (long)route.Retry.BaseDelay.TotalMilliseconds, (long)route.Retry.MaxDelay.TotalMilliseconds),
        new TimeoutsJson((long)route.Timeouts.Total.TotalMilliseconds, (long)route.Timeouts.FirstToken.TotalMilliseconds, (long)route.Timeouts.Attempt.TotalMilliseconds),
        new CircuitJson(route.Circuit.FailureRatio, route.Circuit.MinimumThroughput, (long)route.Circuit.SamplingDuration.TotalMilliseconds, (long)route.Circuit.BreakDuration.TotalMilliseconds),
        [.. route.FallbackStatuses],
        CachePolicyJson.From(route.Cache));

    internal static TimeSpan? Ms(long? milliseconds) => milliseconds is { } ms ? TimeSpan.FromMilliseconds(ms) : null;

    internal static GatewayError Invalid(string message, string param) => GatewayError.Invalid(message, param, "invalid_route");

    internal static ProviderKind? ParseProvider(string? name) => name is null ? ProviderKind.OpenAICompatible : Parse(Providers, name);

    private static T? Parse<T>((T Value, string Name)[] names, string name) where T : struct =>
        names.Any(n => n.Name == name) ? names.First(n => n.Name == name).Value : null;

    internal static string ProviderNames => string.Join(", ", Providers.Select(p => p.Name));
}

/// <summary>A deployment; <c>credential</c> names a secret configured on the silos, never the secret itself.</summary>
public sealed record DeploymentJson(
    string? Name = null,
    string? Provider = null,
    string? BaseUrl = null,
    string? Credential = null,
    string? UpstreamModel = null,
    int? Weight = null,
    int? Priority = null,
    PricesJson? Prices = null,
    int? ContextWindow = null,
    int? MaxOutputTokens = null,
    List<string>? Tags = null,
    SimulationJson? Simulation = null,
    List<string>? InputModalities = null)
{
    public Result<RouteDeployment> ToDeployment()
    {
        if (RouteConfigJson.ParseProvider(Provider) is not { } provider)
        {
            return RouteConfigJson.Invalid($"Invalid 'provider' of deployment '{Name}': expected one of {RouteConfigJson.ProviderNames}.", "deployments");
        }

        Uri? baseUrl = null;
        if (BaseUrl is not null && !Uri.TryCreate(BaseUrl, UriKind.Absolute, out baseUrl))
        {
            return RouteConfigJson.Invalid($"Invalid 'base_url' of deployment '{Name}': expected an absolute URL.", "deployments");
        }

        if (Simulation?.FirstTokenLatencyMs is < 0 or > 600_000)
        {
            return RouteConfigJson.Invalid("'simulation.first_token_latency_ms' must be between 0 and 600000.", "deployments");
        }

        if (InputModalities?.FirstOrDefault(kind => !global::Conversations.Media.Modalities.IsKnown(kind)) is { } unknown)
        {
            return RouteConfigJson.Invalid($"Invalid 'input_modalities' of deployment '{Name}': '{unknown}' is not one of {string.Join(", ", global::Conversations.Media.Modalities.All)}.", "deployments");
        }

        var defaults = new RouteDeployment();
        return new RouteDeployment
        {
            Name = Name ?? string.Empty,
            Provider = provider,
            BaseUrl = baseUrl,
            Credential = Credential,
            UpstreamModel = UpstreamModel,
            Weight = Weight ?? defaults.Weight,
            Priority = Priority ?? defaults.Priority,
            Prices = new ModelPrices { InputPerMillion = Prices?.InputPerMillion ?? 0, OutputPerMillion = Prices?.OutputPerMillion ?? 0, CachedInputPerMillion = Prices?.CachedInputPerMillion ?? 0 },
            ContextWindow = ContextWindow ?? defaults.ContextWindow,
            MaxOutputTokens = MaxOutputTokens ?? defaults.MaxOutputTokens,
            Tags = Tags ?? [],
            Simulation = new SimulationOptions
            {
                FirstTokenLatency = RouteConfigJson.Ms(Simulation?.FirstTokenLatencyMs) ?? TimeSpan.Zero,
                TokensPerSecond = Simulation?.TokensPerSecond ?? 0,
                ContextWindow = Simulation?.ContextWindow,
            },
            InputModalities = InputModalities,
        };
    }

    public static DeploymentJson From(RouteDeployment d) => new(
        d.Name, RouteConfigJson.Name(d.Provider), d.BaseUrl?.ToString(), d.Credential, d.UpstreamModel, d.Weight, d.Priority,
        new PricesJson(d.Prices.InputPerMillion, d.Prices.OutputPerMillion, d.Prices.CachedInputPerMillion),
        d.ContextWindow, d.MaxOutputTokens, [.. d.Tags],
        d.Provider == ProviderKind.Simulated
            ? new SimulationJson((long)d.Simulation.FirstTokenLatency.TotalMilliseconds, d.Simulation.TokensPerSecond, d.Simulation.ContextWindow)
            : null,
        d.InputModalities is { } modalities ? [.. modalities] : null);
}

public sealed record PricesJson(decimal? InputPerMillion, decimal? OutputPerMillion, decimal? CachedInputPerMillion);

public sealed record RetryJson(int? MaxRetriesPerDeployment, long? BaseDelayMs, long? MaxDelayMs);

public sealed record TimeoutsJson(long? TotalMs, long? FirstTokenMs, long? AttemptMs);

public sealed record CircuitJson(double? FailureRatio, int? MinimumThroughput, long? SamplingMs, long? BreakMs);

public sealed record SimulationJson(long? FirstTokenLatencyMs, double? TokensPerSecond, int? ContextWindow);

public sealed record RollbackJson(int? Version);

public sealed record DeploymentHealthJson(string Deployment, string Circuit, double? LatencyMs, double? FirstTokenMs, long Successes, long Failures, long? CoolingUntil)
{
    public static DeploymentHealthJson From(DeploymentHealth h) => new(
        h.Deployment, h.Circuit, h.LatencyMs is { } l ? Math.Round(l, 3) : null, h.FirstTokenMs is { } f ? Math.Round(f, 3) : null,
        h.Successes, h.Failures, h.CoolingUntil?.ToUnixTimeSeconds());
}

/// <summary>A route's current version and the live health of its deployments; <see cref="Deleted"/> once a tenant-only alias is gone.</summary>
public sealed record RouteJson(string Id, string Tenant, int Version, string Source, RouteConfigJson? Config, IReadOnlyList<DeploymentHealthJson> Health, bool? Deleted = null)
{
    public string Object => "route";

    public static RouteJson From(string tenant, RouteView view) => new(
        view.Alias, tenant, view.Version, view.IsOverride ? "tenant" : "platform",
        view.Config is null ? null : RouteConfigJson.From(view.Config), [.. view.Health.Select(DeploymentHealthJson.From)],
        view.Config is null ? true : null);
}

public sealed record RouteVersionJson(int Version, long CreatedAt, string CreatedBy, string Change, RouteConfigJson? Config)
{
    public string Object => "route.version";

    /// <summary>A version without a configuration returned the alias to the platform default.</summary>
    public string Source => Config is null ? "platform" : "tenant";

    public static RouteVersionJson From(RouteVersion v) => new(
        v.Version, v.CreatedAt.ToUnixTimeSeconds(), v.CreatedBy, v.Change, v.Config is null ? null : RouteConfigJson.From(v.Config));
}
