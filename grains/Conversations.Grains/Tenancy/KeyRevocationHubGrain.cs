using Conversations.Tenancy;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains.Tenancy;

/// <summary>
/// Fans a revocation out to every API process that caches keys. Subscriptions live in memory and are
/// renewed by each process every <see cref="RenewEvery"/>; a process that misses a notice (this grain
/// moved) still drops its cache entries when they expire.
/// </summary>
public sealed partial class KeyRevocationHubGrain(TimeProvider clock, ILogger<KeyRevocationHubGrain> logger) : Grain, IKeyRevocationHubGrain
{
    public static readonly TimeSpan RenewEvery = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan NotifyTimeout = TimeSpan.FromSeconds(5);

    private readonly Dictionary<IKeyRevocationObserver, DateTimeOffset> _subscribers = [];

    public Task Subscribe(IKeyRevocationObserver observer)
    {
        _subscribers[observer] = clock.GetUtcNow();
        return Task.CompletedTask;
    }

    public async Task Publish(IReadOnlyList<string> secretHashes)
    {
        var stale = clock.GetUtcNow() - 3 * RenewEvery;
        foreach (var gone in _subscribers.Where(s => s.Value < stale).Select(s => s.Key).ToList())
        {
            _subscribers.Remove(gone);
        }

        await Task.WhenAll(_subscribers.Keys.ToList().Select(async subscriber =>
        {
            try
            {
                await subscriber.Revoked(secretHashes).WaitAsync(NotifyTimeout);
            }
            catch (Exception exception)
            {
                _subscribers.Remove(subscriber);
                LogNotifyFailed(exception);
            }
        }));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A key cache did not acknowledge a revocation; its entries expire on their own")]
    private partial void LogNotifyFailed(Exception exception);
}
