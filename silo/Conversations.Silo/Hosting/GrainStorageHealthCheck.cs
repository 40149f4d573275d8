using Conversations.Grains;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orleans.Storage;

namespace Conversations.Silo.Hosting;

/// <summary>
/// Ready only while grain storage answers: reads a record no grain writes through the silo's own
/// storage provider (SQLite file, Azure Blob, or memory), so an outage of the store turns readiness off
/// and its return turns it on again, without a restart. A read of a missing record is one cheap call.
/// </summary>
public sealed class GrainStorageHealthCheck(IServiceProvider services) : IHealthCheck
{
    private static readonly GrainId Probe = GrainId.Create("conversations-health", "storage-probe");

    /// <summary>Longer than the storage clients' own bounded retries, shorter than a probe's timeout.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(8);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var storage = services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Conversations);
        try
        {
            await storage.ReadStateAsync("health", Probe, new GrainState<int>()).WaitAsync(Timeout, cancellationToken);
            return HealthCheckResult.Healthy("Grain storage answers.");
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("Grain storage does not answer.", exception);
        }
    }
}
