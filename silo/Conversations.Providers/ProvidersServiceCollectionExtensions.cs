using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Conversations.Providers;

public static class ProvidersServiceCollectionExtensions
{
    /// <summary>
    /// Registers the model catalog from <c>Conversations:Models</c>; with no models configured, the
    /// simulated models of the embedded default are served.
    /// </summary>
    public static IServiceCollection AddModelProviders(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(TokenCounter.Shared);
        services.AddSingleton<ModelCatalog>();
        services.AddOptions<ModelOptions>()
            .Configure(options =>
            {
                var section = configuration.GetSection(ModelOptions.Section);
                var configured = section.GetChildren().Any()
                    ? section.Get<Dictionary<string, ModelDeployment>>() ?? []
                    : ModelOptions.EmbeddedDefault().Deployments;
                foreach (var (name, deployment) in configured)
                {
                    options.Deployments[name] = deployment;
                }
            })
            .Validate(o => o.Deployments.Count > 0, "At least one model must be configured under Conversations:Models.")
            .Validate(
                o => o.Deployments.Values.All(d => d.Provider != ProviderKind.OpenAICompatible || d.BaseUrl is not null),
                "Every OpenAICompatible model needs a BaseUrl (including /v1).")
            .ValidateOnStart();
        return services;
    }
}
