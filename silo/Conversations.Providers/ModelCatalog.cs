using System.ClientModel;
using System.ClientModel.Primitives;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenAI;

namespace Conversations.Providers;

/// <summary>
/// Resolves the model a client names to the <see cref="IChatClient"/> that serves it. Clients are
/// built once at start-up; each is wrapped in Microsoft.Extensions.AI's OpenTelemetry middleware so
/// every provider call is a <c>gen_ai</c> span (without message content).
/// </summary>
public sealed class ModelCatalog
{
    public const string ActivitySource = "Conversations.Providers";

    private readonly Dictionary<string, ServedModel> _models;

    public ModelCatalog(IOptions<ModelOptions> options, TokenCounter tokens, ILoggerFactory loggerFactory)
    {
        _models = options.Value.Deployments.ToDictionary(
            pair => pair.Key,
            pair => new ServedModel(pair.Key, pair.Value, Build(pair.Key, pair.Value, tokens, loggerFactory)),
            StringComparer.Ordinal);
    }

    public IReadOnlyCollection<ServedModel> Models => _models.Values;

    public ServedModel? Find(string name) => _models.GetValueOrDefault(name);

    private static IChatClient Build(string name, ModelDeployment deployment, TokenCounter tokens, ILoggerFactory loggerFactory)
    {
        IChatClient inner = deployment.Provider switch
        {
            ProviderKind.Simulated => new SimulatedChatClient(name, new SimulatedModel(tokens, deployment.Simulation)),
            ProviderKind.OpenAICompatible => new OpenAIClient(
                    new ApiKeyCredential(deployment.ApiKey ?? "unused"),
                    new OpenAIClientOptions
                    {
                        Endpoint = deployment.BaseUrl,
                        // Retries and fallback belong to the gateway's routing, which sees every deployment; not to one SDK client.
                        RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
                    })
                .GetChatClient(deployment.UpstreamModel ?? name)
                .AsIChatClient(),
            _ => throw new InvalidOperationException($"Model '{name}' has an unknown provider kind."),
        };

        return inner.AsBuilder()
            .UseOpenTelemetry(loggerFactory, ActivitySource)
            .Build();
    }
}

public sealed record ServedModel(string Name, ModelDeployment Deployment, IChatClient Client)
{
    public string OwnedBy => Deployment.Provider == ProviderKind.Simulated ? "conversations-simulated" : "conversations";
}
