using Conversations.Grains.Routing;
using Conversations.Providers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Conversations.Grains;

public static class GrainsServiceCollectionExtensions
{
    /// <summary>The services grains need on a silo: the providers, the router and the chat pipeline.</summary>
    public static IServiceCollection AddConversationGrainServices(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddModelProviders(configuration);
        services.AddSingleton<ModelRouter>();
        services.AddSingleton<EmbeddingPipeline>();
        services.AddSingleton<ChatPipeline>();
        services.AddSingleton<Context.ContextBuilder>();
        services.AddSingleton<Memory.Chunker>();
        services.AddSingleton<Microsoft.Extensions.AI.IEmbeddingGenerator<string, Microsoft.Extensions.AI.Embedding<float>>, Conversations.Embeddings.LocalEmbeddingGenerator>();
        services.Configure<Context.SummaryOptions>(configuration.GetSection(Context.SummaryOptions.Section));
        services.AddSingleton(TimeProvider.System);
        return services;
    }
}
