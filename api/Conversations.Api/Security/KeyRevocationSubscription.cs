using Conversations.Tenancy;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Conversations.Api.Security;

/// <summary>Keeps this process's key cache subscribed to revocation notices, renewing the subscription periodically.</summary>
public sealed partial class KeyRevocationSubscription(
    ApiKeyAuthenticator authenticator,
    IGrainFactory grains,
    ILogger<KeyRevocationSubscription> logger) : BackgroundService
{
    /// <summary>Renewal interval; the hub forgets subscribers that have not renewed in three intervals.</summary>
    public static readonly TimeSpan RenewEvery = TimeSpan.FromSeconds(20);

    private static readonly TimeSpan FirstAttemptRetry = TimeSpan.FromSeconds(1);

    /// <summary>True once this process receives revocation notices; until then it is not ready.</summary>
    public bool IsSubscribed { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var observer = grains.CreateObjectReference<IKeyRevocationObserver>(authenticator);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await grains.GetGrain<IKeyRevocationHubGrain>(0).Subscribe(observer);
                IsSubscribed = true;
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                LogSubscribeFailed(exception);
            }

            // Until the first subscription succeeds the process is not ready: retry soon; then renew.
            await Task.Delay(IsSubscribed ? RenewEvery : FirstAttemptRetry, stoppingToken);
        }
    }

    /// <summary>Reports ready only once revocations reach this process, so a cached key can never outlive its revocation here.</summary>
    public sealed class HealthCheck(KeyRevocationSubscription subscription) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(subscription.IsSubscribed ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("Not yet subscribed to key revocations."));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Subscribing to key revocations failed; retrying at the next renewal")]
    private partial void LogSubscribeFailed(Exception exception);
}
