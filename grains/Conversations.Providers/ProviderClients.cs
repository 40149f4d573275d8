using System.ClientModel;
using System.ClientModel.Primitives;
using System.Collections.Concurrent;
using System.Globalization;
using Conversations.Providers.Anthropic;
using Conversations.Routing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using OpenAI;

namespace Conversations.Providers;

/// <summary>
/// The <see cref="IChatClient"/> for each deployment a route names, built on first use and kept for
/// the silo's life. Credentials are resolved here, from configuration, and go nowhere else. Every
/// client is wrapped in Microsoft.Extensions.AI's OpenTelemetry middleware, so each provider call is
/// a <c>gen_ai</c> span inside its routing attempt's span, without prompts or answers unless
/// <see cref="ProviderTelemetryOptions.CaptureMessageContent"/> says so (the OpenTelemetry environment
/// variable for it is not consulted: a development host may set it for every process). The middleware is
/// given no logger: it would log every exception as a warning with its stack trace, including each
/// client that hangs up, and the provider's error text; the router logs provider failures itself.
/// </summary>
public sealed class ProviderClients(IOptions<RoutingOptions> options, IOptions<ProviderTelemetryOptions> telemetry, TokenCounter tokens) : IDisposable
{
    public const string ActivitySource = "Conversations.Providers";

    /// <summary>
    /// One connection pool for every deployment, each exchange timed for <see cref="UpstreamTime"/>. No redirects (a
    /// redirected call would lose its Authorization header, and a POST would become a GET) and no cookies (one store
    /// would be shared by every tenant and credential).
    /// </summary>
    private static readonly HttpClient Http = new(new UpstreamTime.Handler(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        AllowAutoRedirect = false,
        UseCookies = false,
    }))
    {
        Timeout = Timeout.InfiniteTimeSpan, // routing owns timeouts
    };

    private readonly ConcurrentDictionary<string, IChatClient> _clients = new(StringComparer.Ordinal);

    /// <summary>By instance: a plan made on this silo hands out the same deployment objects, so most calls skip building the identity string.</summary>
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<RouteDeployment, IChatClient> _byInstance = [];
    private readonly ConcurrentDictionary<string, IEmbeddingGenerator<string, Embedding<float>>> _embedders = new(StringComparer.Ordinal);

    public IChatClient For(RouteDeployment deployment) =>
        _byInstance.GetValue(deployment, d => _clients.GetOrAdd(Identity(d), _ => Build(d)));

    /// <summary>The embeddings client of an OpenAI-compatible deployment (the local model is served by the grains' own generator).</summary>
    public IEmbeddingGenerator<string, Embedding<float>> EmbeddingsFor(RouteDeployment deployment) => _embedders.GetOrAdd(Identity(deployment), _ =>
        deployment.Provider == ProviderKind.OpenAICompatible
            ? OpenAI(deployment).GetEmbeddingClient(deployment.UpstreamModel ?? deployment.Name).AsIEmbeddingGenerator()
                .AsBuilder().UseOpenTelemetry(sourceName: ActivitySource, configure: Traced).Build()
            : throw new NotSupportedException($"Deployment '{deployment.Name}' does not serve embeddings."));

    /// <summary>Everything that makes two deployments' clients differ; a changed route gets a new client.</summary>
    private static string Identity(RouteDeployment d) => string.Join(
        '|', d.Provider, d.Name, d.BaseUrl, d.Credential, d.UpstreamModel, d.MaxOutputTokens.ToString(CultureInfo.InvariantCulture),
        d.Simulation.FirstTokenLatency.Ticks.ToString(CultureInfo.InvariantCulture),
        d.Simulation.TokensPerSecond.ToString(CultureInfo.InvariantCulture),
        d.Simulation.ContextWindow?.ToString(CultureInfo.InvariantCulture));

    private IChatClient Build(RouteDeployment deployment)
    {
        var model = deployment.UpstreamModel ?? deployment.Name;
        IChatClient inner = deployment.Provider switch
        {
            ProviderKind.Simulated => new SimulatedChatClient(deployment.Name, new SimulatedModel(tokens, deployment.Simulation)),
            ProviderKind.OpenAICompatible => new ExactOpenAITools(new OpenAITextFiles(OpenAI(deployment).GetChatClient(model).AsIChatClient())),
            ProviderKind.Anthropic => new AnthropicChatClient(Http, Endpoint(deployment), ApiKey(deployment) ?? string.Empty, model, deployment.MaxOutputTokens),
            _ => throw new InvalidOperationException($"Deployment '{deployment.Name}' has an unknown provider kind."),
        };

        return inner.AsBuilder()
            .UseOpenTelemetry(sourceName: ActivitySource, configure: Traced)
            .Build();
    }

    private void Traced(OpenTelemetryChatClient client) => client.EnableSensitiveData = telemetry.Value.CaptureMessageContent;

    private void Traced(OpenTelemetryEmbeddingGenerator<string, Embedding<float>> generator) => generator.EnableSensitiveData = telemetry.Value.CaptureMessageContent;

    private OpenAIClient OpenAI(RouteDeployment deployment) => new(
        new ApiKeyCredential(ApiKey(deployment) ?? "unused"),
        new OpenAIClientOptions
        {
            Endpoint = Endpoint(deployment),
            // Retries and fallback belong to routing, which sees every deployment; not to one SDK client (decision 0004).
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = Timeout.InfiniteTimeSpan,
            Transport = new HttpClientPipelineTransport(Http),
        });

    private ProviderCredential? Credential(RouteDeployment deployment) =>
        deployment.Credential is { } name ? options.Value.Credentials.GetValueOrDefault(name) : null;

    private string? ApiKey(RouteDeployment deployment) => Credential(deployment)?.ApiKey;

    private Uri Endpoint(RouteDeployment deployment) =>
        Credential(deployment)?.BaseUrl ?? deployment.BaseUrl
        ?? throw new InvalidOperationException($"Deployment '{deployment.Name}' has no base URL.");

    public void Dispose()
    {
        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }
    }
}
