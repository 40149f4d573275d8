using Conversations.Grains.Routing;
using Conversations.Providers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Conversations.Grains;

public static class GrainsServiceCollectionExtensions
{
    /// <summary>The services grains need on a silo: the providers, the router and the call pipeline with its stages.</summary>
    public static IServiceCollection AddConversationGrainServices(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddModelProviders(configuration);
        services.AddSingleton<IValidateOptions<RoutingOptions>, RoutingOptionsValidator>(); // invalid routes stop the silo at start-up
        services.AddSingleton<ModelRouter>();
        services.AddSingleton<EmbeddingPipeline>();
        services.AddSingleton<Pipeline.RouteStage>();
        services.AddSingleton<Pipeline.AuditStage>();
        services.AddSingleton<Audit.CallAuditLog>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<Audit.CallAuditLog>()); // written before the silo's grains go
        services.AddOptions<Conversations.Audit.AuditOptions>().Bind(configuration.GetSection(Conversations.Audit.AuditOptions.Section))
            .Validate(audit => audit.RetentionDays >= 1 && audit.MaxRetentionDays >= audit.RetentionDays && audit.FlushInterval > TimeSpan.Zero && audit.MaxPendingCalls > 0,
                $"{Conversations.Audit.AuditOptions.Section}: RetentionDays must be at least 1 and at most MaxRetentionDays; FlushInterval and MaxPendingCalls positive.").ValidateOnStart();
        services.AddSingleton<IIncomingGrainCallFilter, Indexing.ConversationIndexing>(); // the conversation index follows creates, metadata changes and deletes
        services.AddSingleton<Pipeline.InputGuardrailsStage>();
        services.AddSingleton<Guardrails.InjectionClassifier>();
        services.AddSingleton<Pipeline.CacheStage>();
        services.AddSingleton<Caching.SemanticCache>();
        services.AddOptions<Caching.CacheOptions>().Bind(configuration.GetSection(Caching.CacheOptions.Section))
            .Validate(cache => cache.MaxEntriesPerTenant > 0 && cache.MaxBytesPerTenant > 0 && cache.FillWait > TimeSpan.Zero,
                $"{Caching.CacheOptions.Section}: the bounds and FillWait must be positive.").ValidateOnStart();
        services.AddSingleton<Pipeline.AdmissionStage>();
        services.AddSingleton<Pipeline.OutputGuardrailsStage>();
        services.AddSingleton<Pipeline.ModelStage>();
        services.AddSingleton<Pipeline.CallPipeline>();
        services.AddSingleton<RoutePlanner>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<RoutePlanner>()); // this silo's lease holder, made once it starts
        services.AddSingleton<SteadyRoutes>();
        services.AddSingleton<StatelessInference>();
        services.AddSingleton<IStatelessInference>(sp => sp.GetRequiredService<StatelessInference>()); // an API in this silo runs stateless calls here
        services.AddSingleton<Context.ContextBuilder>();
        services.AddSingleton<Memory.Chunker>();
        services.AddVectorStore(configuration);
        services.AddSingleton<Microsoft.Extensions.AI.IEmbeddingGenerator<string, Microsoft.Extensions.AI.Embedding<float>>, Conversations.Embeddings.LocalEmbeddingGenerator>();
        services.Configure<Context.SummaryOptions>(configuration.GetSection(Context.SummaryOptions.Section));
        services.AddOptions<Quotas.QuotaOptions>().Bind(configuration.GetSection(Quotas.QuotaOptions.Section))
            .Validate(quotas => quotas.FlushInterval > TimeSpan.Zero, $"{Quotas.QuotaOptions.Section}:FlushInterval must be positive.").ValidateOnStart();
        services.AddOptions<Webhooks.WebhookOptions>().Bind(configuration.GetSection(Webhooks.WebhookOptions.Section))
            .Validate(webhooks => webhooks.AllowedNetworks.All(n => System.Net.IPNetwork.TryParse(n, out _)), $"{Webhooks.WebhookOptions.Section}:AllowedNetworks: expected CIDR networks.")
            .Validate(webhooks => webhooks.FirstRetryDelay > TimeSpan.Zero && webhooks.Timeout > TimeSpan.Zero, $"{Webhooks.WebhookOptions.Section}: the delays must be positive.")
            .ValidateOnStart();
        services.AddSingleton<Webhooks.WebhookSender>();
        services.AddOptions<Mcp.McpGatewayOptions>().Bind(configuration.GetSection(Mcp.McpGatewayOptions.Section))
            .Validate(mcp => mcp.CallTimeout > TimeSpan.Zero, $"{Mcp.McpGatewayOptions.Section}:CallTimeout must be positive.").ValidateOnStart();
        services.AddSingleton<Mcp.McpUpstreamHttp>();
        services.AddSingleton(TimeProvider.System);
        return services;
    }

    /// <summary>
    /// Qdrant when <c>Conversations:VectorStore:QdrantEndpoint</c> (or <c>QDRANT_ENDPOINT</c>) names its gRPC
    /// endpoint (e.g. <c>http://127.0.0.1:6334</c>); otherwise the embedded store, grains.
    /// </summary>
    private static void AddVectorStore(this IServiceCollection services, IConfiguration configuration)
    {
        var endpoint = configuration["Conversations:VectorStore:QdrantEndpoint"] ?? configuration["QDRANT_ENDPOINT"];
        if (string.IsNullOrEmpty(endpoint))
        {
            services.AddSingleton<Memory.IVectorStore, Memory.GrainVectorStore>();
            return;
        }

        var collection = configuration["Conversations:VectorStore:Collection"] ?? "conversations";
        services.AddSingleton<Memory.IVectorStore>(_ => new Memory.QdrantVectorStore(
            new Qdrant.Client.QdrantClient(new Uri(endpoint), configuration["Conversations:VectorStore:QdrantApiKey"]),
            collection, Conversations.Embeddings.LocalEmbeddingGenerator.Dimensions));
    }

    private sealed class RoutingOptionsValidator : IValidateOptions<RoutingOptions>
    {
        public ValidateOptionsResult Validate(string? name, RoutingOptions options)
        {
            var failures = options.Routes
                .Select(pair => RouteRules.Validate(pair.Value, options.Credentials, tenant: null) is { } error ? $"Route '{pair.Key}': {error.Message}" : null)
                .OfType<string>()
                .ToList();
            return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
        }
    }
}
