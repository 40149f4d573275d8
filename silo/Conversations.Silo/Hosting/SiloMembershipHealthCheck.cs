using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Conversations.Silo.Hosting;

/// <summary>
/// Ready only while this silo is an active member of its cluster: not while it is still joining (grains
/// cannot be placed on it yet) nor once it is shutting down or has been declared dead.
/// </summary>
public sealed class SiloMembershipHealthCheck(IClusterMembershipService membership, ILocalSiloDetails silo) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var status = membership.CurrentSnapshot.GetSiloStatus(silo.SiloAddress);
        return Task.FromResult(status == SiloStatus.Active
            ? HealthCheckResult.Healthy($"Silo {silo.SiloAddress} is an active cluster member.")
            : HealthCheckResult.Unhealthy($"Silo {silo.SiloAddress} is {status}, not an active cluster member."));
    }
}
