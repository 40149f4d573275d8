using Conversations.Routing;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Conversations.Api.Hosting;

/// <summary>Ready when a grain call through the cluster succeeds (the silo is up, or the client is connected).</summary>
public sealed class ClusterHealthCheck(IGrainFactory grains) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var models = await grains.GetGrain<ITenantRoutesGrain>(PlatformRoutes.Tenant).ListModels().WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
            return HealthCheckResult.Healthy($"{models.Count} models served.");
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("The cluster is not reachable.", exception);
        }
    }
}
