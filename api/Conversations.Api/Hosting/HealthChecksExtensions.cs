using Microsoft.Extensions.DependencyInjection;

namespace Conversations.Api.Hosting;

public static class HealthChecksExtensions
{
    /// <summary>Makes <c>/health</c> report ready only when a grain call through the cluster succeeds.</summary>
    public static IServiceCollection AddClusterHealthCheck(this IServiceCollection services)
    {
        services.AddHealthChecks().AddCheck<ClusterHealthCheck>("cluster", tags: ["ready"]);
        return services;
    }
}
