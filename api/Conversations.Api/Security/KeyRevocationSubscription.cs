using Conversations.Tenancy;
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

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var observer = grains.CreateObjectReference<IKeyRevocationObserver>(authenticator);
        using var timer = new PeriodicTimer(RenewEvery);
        do
        {
            try
            {
                await grains.GetGrain<IKeyRevocationHubGrain>(0).Subscribe(observer);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                LogSubscribeFailed(exception);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Subscribing to key revocations failed; retrying at the next renewal")]
    private partial void LogSubscribeFailed(Exception exception);
}
