namespace Conversations.Providers;

/// <summary>The models this deployment serves, bound from <c>Conversations:Models</c>.</summary>
public sealed class ModelOptions
{
    public const string Section = "Conversations:Models";

    /// <summary>Model name (what clients send as <c>model</c>) to deployment.</summary>
    public Dictionary<string, ModelDeployment> Deployments { get; init; } = new(StringComparer.Ordinal);

    /// <summary>The embedded default: two simulated models, so the service runs with no keys at all.</summary>
    public static ModelOptions EmbeddedDefault() => new()
    {
        Deployments =
        {
            ["sim-small"] = new() { Provider = ProviderKind.Simulated, ContextWindow = 16_384, Prices = new() { InputPerMillion = 0.15m, OutputPerMillion = 0.60m } },
            ["sim-large"] = new() { Provider = ProviderKind.Simulated, ContextWindow = 128_000, Prices = new() { InputPerMillion = 2.50m, OutputPerMillion = 10m } },
        },
    };
}

public enum ProviderKind
{
    /// <summary>The built-in simulated model: deterministic, offline, with fault injection.</summary>
    Simulated,

    /// <summary>Any OpenAI-compatible chat completions endpoint: OpenAI, Azure OpenAI v1, Ollama, vLLM.</summary>
    OpenAICompatible,
}

public sealed class ModelDeployment
{
    public ProviderKind Provider { get; init; } = ProviderKind.Simulated;

    /// <summary>Base URL including <c>/v1</c>, for OpenAI-compatible providers.</summary>
    public Uri? BaseUrl { get; init; }

    /// <summary>The provider's API key. Never returned by any endpoint nor logged.</summary>
    public string? ApiKey { get; init; }

    /// <summary>The model name upstream; defaults to the deployment's own name.</summary>
    public string? UpstreamModel { get; init; }

    public int ContextWindow { get; init; } = 128_000;

    /// <summary>The output reserved against quotas when a request names no maximum.</summary>
    public int MaxOutputTokens { get; init; } = 4_096;

    public ModelPrices Prices { get; init; } = new();

    public SimulationOptions Simulation { get; init; } = new();
}

/// <summary>USD per million tokens.</summary>
public sealed class ModelPrices
{
    public decimal InputPerMillion { get; init; }

    public decimal OutputPerMillion { get; init; }

    public decimal CachedInputPerMillion { get; init; }

    public decimal Cost(long inputTokens, long outputTokens, long cachedInputTokens = 0) =>
        ((inputTokens - cachedInputTokens) * InputPerMillion + cachedInputTokens * CachedInputPerMillion + outputTokens * OutputPerMillion) / 1_000_000m;
}

/// <summary>How the simulated model behaves when no directive in the input says otherwise.</summary>
public sealed class SimulationOptions
{
    /// <summary>Delay before the first token.</summary>
    public TimeSpan FirstTokenLatency { get; init; } = TimeSpan.Zero;

    /// <summary>Streaming rate; 0 streams as fast as the reader takes tokens.</summary>
    public double TokensPerSecond { get; init; }

    /// <summary>Prompts longer than this fail with 400 <c>context_length_exceeded</c>; unlimited when unset.</summary>
    public int? ContextWindow { get; init; }
}
