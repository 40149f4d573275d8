namespace Conversations.Routing;

/// <summary>
/// What a model alias resolves to: the deployments that can serve it, how one is chosen, and how a
/// call survives a deployment's failure. Platform defaults come from <c>Conversations:Routes</c>; a
/// tenant overrides them through the admin API, and every change is a new, immutable version.
/// </summary>
[GenerateSerializer, Immutable, Alias("conv.RouteConfig")]
public sealed class RouteConfig
{
    [Id(0)] public RouteStrategy Strategy { get; init; } = RouteStrategy.Priority;

    [Id(1)] public IReadOnlyList<RouteDeployment> Deployments { get; init; } = [];

    /// <summary>For <see cref="RouteStrategy.Canary"/>: the deployment that gets <see cref="CanaryPercent"/> of calls.</summary>
    [Id(2)] public string? CanaryDeployment { get; init; }

    [Id(3)] public double CanaryPercent { get; init; }

    [Id(4)] public RetrySettings Retry { get; init; } = new();

    [Id(5)] public TimeoutSettings Timeouts { get; init; } = new();

    [Id(6)] public CircuitSettings Circuit { get; init; } = new();

    /// <summary>
    /// Upstream statuses on which a call is retried or falls back (<see cref="DefaultFallbackStatuses"/> when unset);
    /// timeouts and connection failures always are. Unset rather than defaulted, so configuration binding replaces the list instead of appending to it.
    /// </summary>
    [Id(7)] public IReadOnlyList<int>? FallbackOnStatus { get; init; }

    /// <summary>The response cache for this alias; unset, the tenant's default applies (<see cref="Caching.CachePolicy.Effective"/>).</summary>
    [Id(8)] public Caching.CachePolicy? Cache { get; init; }

    public static IReadOnlyList<int> DefaultFallbackStatuses { get; } = [408, 429, 500, 502, 503, 504, 529];

    public IReadOnlyList<int> FallbackStatuses => FallbackOnStatus ?? DefaultFallbackStatuses;

    public RouteDeployment? Find(string name) => Deployments.FirstOrDefault(d => d.Name == name);

    /// <summary>The largest context window any deployment offers: what <c>/v1/models</c> reports.</summary>
    public int ContextWindow => Deployments.Count == 0 ? 0 : Deployments.Max(d => d.ContextWindow);
}

public enum RouteStrategy
{
    /// <summary>Lowest <see cref="RouteDeployment.Priority"/> first; the others in order as fallbacks.</summary>
    Priority,

    /// <summary>Random by <see cref="RouteDeployment.Weight"/>; fallbacks by priority.</summary>
    Weighted,

    /// <summary>The lowest moving average of latency (time to first token for streams); unmeasured deployments first.</summary>
    LeastLatency,

    /// <summary>The lowest estimated price for this call's prompt and maximum output.</summary>
    LowestCost,

    /// <summary><see cref="RouteConfig.CanaryPercent"/> of calls to the canary deployment, the rest by priority.</summary>
    Canary,

    /// <summary>Sticky A/B: a stable hash of the end user (else the conversation) picks a deployment by weight.</summary>
    Sticky,
}

/// <summary>One place a route can send a call. <see cref="Credential"/> names a configured secret; the secret itself never leaves the silo's configuration.</summary>
[GenerateSerializer, Immutable, Alias("conv.RouteDeployment")]
public sealed class RouteDeployment
{
    [Id(0)] public string Name { get; init; } = string.Empty;

    [Id(1)] public ProviderKind Provider { get; init; } = ProviderKind.OpenAICompatible;

    /// <summary>Base URL including <c>/v1</c>; taken from the credential when it names one.</summary>
    [Id(2)] public Uri? BaseUrl { get; init; }

    /// <summary>The name of a credential under <c>Conversations:Credentials</c>.</summary>
    [Id(3)] public string? Credential { get; init; }

    /// <summary>The model name upstream; defaults to the deployment's name.</summary>
    [Id(4)] public string? UpstreamModel { get; init; }

    [Id(5)] public int Weight { get; init; } = 1;

    [Id(6)] public int Priority { get; init; }

    [Id(7)] public ModelPrices Prices { get; init; } = new();

    [Id(8)] public int ContextWindow { get; init; } = 128_000;

    /// <summary>The output reserved against quotas (and sent to providers that require one) when a request names no maximum.</summary>
    [Id(9)] public int MaxOutputTokens { get; init; } = 4_096;

    [Id(10)] public IReadOnlyList<string> Tags { get; init; } = [];

    [Id(11)] public SimulationOptions Simulation { get; init; } = new();

    /// <summary>
    /// The kinds of input the model takes (<see cref="Media.Modalities"/>: text, image, file, audio); unset, what its provider can
    /// carry. A call with a part of a kind a deployment does not take skips it; a call none of its route's deployments can take is a 400.
    /// </summary>
    [Id(12)] public IReadOnlyList<string>? InputModalities { get; init; }

    /// <summary>Whether this deployment takes input of <paramref name="kind"/>.</summary>
    public bool Takes(string kind) => kind == Media.Modalities.Text || (InputModalities ?? ProviderModalities).Contains(kind);

    /// <summary>What the provider can carry: Anthropic's Messages API has no audio input; the local embedding model takes text.</summary>
    private IReadOnlyList<string> ProviderModalities => Provider switch
    {
        ProviderKind.Anthropic => [Media.Modalities.Text, Media.Modalities.Image, Media.Modalities.File],
        ProviderKind.LocalEmbeddings => [Media.Modalities.Text],
        _ => Media.Modalities.All,
    };

    public bool ServesChat => Provider != ProviderKind.LocalEmbeddings;

    public bool ServesEmbeddings => Provider is ProviderKind.OpenAICompatible or ProviderKind.LocalEmbeddings;

    public RouteDeployment WithPrices(ModelPrices prices) => new()
    {
        Name = Name, Provider = Provider, BaseUrl = BaseUrl, Credential = Credential, UpstreamModel = UpstreamModel, Weight = Weight,
        Priority = Priority, Prices = prices, ContextWindow = ContextWindow, MaxOutputTokens = MaxOutputTokens, Tags = Tags, Simulation = Simulation,
        InputModalities = InputModalities,
    };
}

public enum ProviderKind
{
    /// <summary>The built-in simulated model: deterministic, offline, with fault injection.</summary>
    Simulated,

    /// <summary>Any OpenAI-compatible chat completions endpoint: OpenAI, Azure OpenAI v1, Ollama, vLLM.</summary>
    OpenAICompatible,

    /// <summary>Anthropic's Messages API.</summary>
    Anthropic,

    /// <summary>The local embedding model (all-MiniLM-L6-v2, 384 dimensions), in-process; embeddings only.</summary>
    LocalEmbeddings,
}

/// <summary>USD per million tokens.</summary>
[GenerateSerializer, Immutable, Alias("conv.ModelPrices")]
public sealed class ModelPrices
{
    [Id(0)] public decimal InputPerMillion { get; init; }

    [Id(1)] public decimal OutputPerMillion { get; init; }

    [Id(2)] public decimal CachedInputPerMillion { get; init; }

    public decimal Cost(long inputTokens, long outputTokens, long cachedInputTokens = 0) =>
        ((inputTokens - cachedInputTokens) * InputPerMillion + cachedInputTokens * CachedInputPerMillion + outputTokens * OutputPerMillion) / 1_000_000m;
}

/// <summary>How the simulated model behaves when no directive in the input says otherwise.</summary>
[GenerateSerializer, Immutable, Alias("conv.SimulationOptions")]
public sealed class SimulationOptions
{
    /// <summary>Delay before the first token.</summary>
    [Id(0)] public TimeSpan FirstTokenLatency { get; init; } = TimeSpan.Zero;

    /// <summary>Streaming rate; 0 streams as fast as the reader takes tokens.</summary>
    [Id(1)] public double TokensPerSecond { get; init; }

    /// <summary>Prompts longer than this fail with 400 <c>context_length_exceeded</c>; unlimited when unset.</summary>
    [Id(2)] public int? ContextWindow { get; init; }
}

/// <summary>Retries on one deployment before falling back: jittered exponential backoff, or the upstream's <c>retry-after</c> when it is no longer than <see cref="MaxDelay"/>.</summary>
[GenerateSerializer, Immutable, Alias("conv.RetrySettings")]
public sealed class RetrySettings
{
    [Id(0)] public int MaxRetriesPerDeployment { get; init; } = 1;

    [Id(1)] public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    [Id(2)] public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(2);
}

[GenerateSerializer, Immutable, Alias("conv.TimeoutSettings")]
public sealed class TimeoutSettings
{
    /// <summary>The whole call, every attempt and the full stream included.</summary>
    [Id(0)] public TimeSpan Total { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>A streamed attempt that has sent no token by then is abandoned and the call falls back.</summary>
    [Id(1)] public TimeSpan FirstToken { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>A call that waits for the whole answer: an attempt with no answer by then is abandoned and the call falls back.</summary>
    [Id(2)] public TimeSpan Attempt { get; init; } = TimeSpan.FromMinutes(3);
}

/// <summary>Polly circuit-breaker settings, applied per deployment in the route grain.</summary>
[GenerateSerializer, Immutable, Alias("conv.CircuitSettings")]
public sealed class CircuitSettings
{
    [Id(0)] public double FailureRatio { get; init; } = 0.5;

    [Id(1)] public int MinimumThroughput { get; init; } = 5;

    [Id(2)] public TimeSpan SamplingDuration { get; init; } = TimeSpan.FromSeconds(30);

    [Id(3)] public TimeSpan BreakDuration { get; init; } = TimeSpan.FromSeconds(30);
}
