using Conversations.Caching;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace Conversations.Grains.Caching;

/// <summary>
/// One cached answer, in memory (a cache: an entry lost with its silo is made again by the next miss), kept active until
/// it expires. Single flight: one lead at a time fills the entry; identical misses wait on the fill, interleaved, for at
/// most <see cref="CacheOptions.FillWait"/>, then go on alone. A lead whose caller vanished expires with the wait. Reentrant,
/// so a store runs while misses wait; no method awaits anything but that wait. Leads are timed by the machine's clock, expiry
/// by <see cref="TimeProvider"/> (which a test may move).
/// </summary>
[Reentrant]
public sealed class CacheEntryGrain(TimeProvider clock, IOptions<CacheOptions> options) : Grain, ICacheEntryGrain
{
    private CachedAnswer? _answer;
    private (string LeaseId, long Until, TaskCompletionSource Filled)? _lead;

    private string Tenant => GrainKeys.Parse(this.GetPrimaryKeyString()).Tenant;

    private string KeyHash => GrainKeys.Parse(this.GetPrimaryKeyString()).Id;

    public async Task<CacheLookup> Find(string leaseId)
    {
        var wait = (long)options.Value.FillWait.TotalMilliseconds;
        var waitUntil = Environment.TickCount64 + wait;
        while (true)
        {
            if (Fresh() is { } answer)
            {
                GrainFactory.Reference<ICacheDirectoryGrain>(Tenant).Used(KeyHash).Ignore();
                return new CacheLookup(answer, false);
            }

            var now = Environment.TickCount64;
            if (_lead is not { } lead || lead.Until <= now || lead.LeaseId == leaseId)
            {
                _lead = (leaseId, now + wait, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                return new CacheLookup(null, true);
            }

            var left = waitUntil - now;
            if (left <= 0)
            {
                return new CacheLookup(null, false);
            }

            try
            {
                await lead.Filled.Task.WaitAsync(TimeSpan.FromMilliseconds(left));
            }
            catch (TimeoutException)
            {
                return new CacheLookup(null, false);
            }
        }
    }

    public Task<CachedAnswer?> Peek() => Task.FromResult(Fresh());

    public Task Store(string leaseId, CachedAnswer answer)
    {
        _answer = answer;
        var left = answer.ExpiresAt - clock.GetUtcNow();
        if (left > TimeSpan.Zero)
        {
            DelayDeactivation(left);
        }

        GrainFactory.Reference<ICacheDirectoryGrain>(Tenant).Stored(KeyHash, new CacheEntryInfo(answer.Alias, answer.Bytes, answer.ExpiresAt, answer.SemanticScope)).Ignore();
        EndLead(leaseId);
        return Task.CompletedTask;
    }

    public Task Abandon(string leaseId)
    {
        EndLead(leaseId);
        return Task.CompletedTask;
    }

    public Task Evict()
    {
        _answer = null;
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    private CachedAnswer? Fresh()
    {
        if (_answer is { } answer && answer.ExpiresAt <= clock.GetUtcNow())
        {
            _answer = null; // expired: the directory forgets it when it evicts or the tenant's bound is reached
        }

        return _answer;
    }

    private void EndLead(string leaseId)
    {
        if (_lead is { } lead && lead.LeaseId == leaseId)
        {
            _lead = null;
            lead.Filled.TrySetResult();
        }
    }
}
