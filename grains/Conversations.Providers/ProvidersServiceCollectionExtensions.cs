using Conversations.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Conversations.Providers;

public static class ProvidersServiceCollectionExtensions
{
    /// <summary>
    /// Registers the provider clients, the platform routes from <c>Conversations:Routes</c> and the
    /// credentials from <c>Conversations:Credentials</c>; with no routes configured, the simulated
    /// models of the embedded default are served. The routes are checked by the grains' registration (route rules are routing's).
    /// </summary>
    public static IServiceCollection AddModelProviders(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(TokenCounter.Shared);
        services.AddSingleton<ProviderClients>();
        services.Configure<ProviderTelemetryOptions>(configuration.GetSection(ProviderTelemetryOptions.Section));
        services.AddOptions<RoutingOptions>()
            .Configure(options =>
            {
                var routes = configuration.GetSection(RoutingOptions.RoutesSection);
                var configured = routes.GetChildren().Any()
                    ? routes.Get<Dictionary<string, RouteConfig>>() ?? []
                    : RoutingOptions.EmbeddedRoutes();
                foreach (var (alias, route) in configured)
                {
                    options.Routes[alias] = route;
                }

                foreach (var (name, credential) in configuration.GetSection(RoutingOptions.CredentialsSection).Get<Dictionary<string, ProviderCredential>>() ?? [])
                {
                    options.Credentials[name] = credential;
                }
            })
            .Validate(o => o.Routes.Count > 0, "At least one route must be configured under Conversations:Routes.")
            .ValidateOnStart();
        return services;
    }
}
