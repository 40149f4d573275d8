using Conversations.Caching;
using Conversations.Grains.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Conversations.Grains.Caching;

/// <summary>
/// A tenant's cached answers in order of use (<see cref="CacheLru"/>), in memory and kept active while any of them may
/// live. Past the tenant's bound it evicts the least recently used; a purge evicts by alias, key hash or all. An entry
/// evicted leaves its semantic index too.
/// </summary>
public sealed partial class CacheDirectoryGrain(
    IVectorStore vectors, TimeProvider clock, IOptions<CacheOptions> options, ILogger<CacheDirectoryGrain> logger) : Grain, ICacheDirectoryGrain
{
    private readonly CacheLru _entries = new();
    private DateTimeOffset _keepUntil;

    private string Tenant => this.GetPrimaryKeyString();

    public Task Stored(string keyHash, CacheEntryInfo entry)
    {
        var now = clock.GetUtcNow();
        _entries.Add(keyHash, entry);
        if (entry.ExpiresAt > _keepUntil)
        {
            _keepUntil = entry.ExpiresAt;
            DelayDeactivation(entry.ExpiresAt - now);
        }

        foreach (var (hash, evicted) in _entries.OverBound(options.Value.MaxEntriesPerTenant, options.Value.MaxBytesPerTenant, now))
        {
            _ = Evict(hash, evicted);
        }

        return Task.CompletedTask;
    }

    public Task Used(string keyHash)
    {
        _entries.Touch(keyHash);
        return Task.CompletedTask;
    }

    public async Task<int> Purge(string? alias, string? keyHash)
    {
        var purged = _entries.Remove(entry => (alias is null || entry.Info.Alias == alias) && (keyHash is null || entry.Hash == keyHash))
            .Select(entry => (entry.Hash, Info: (CacheEntryInfo?)entry.Info)).ToList();
        if (keyHash is not null && purged.Count == 0)
        {
            purged.Add((keyHash, null)); // an entry this directory lost track of (it was deactivated) is still evicted by its hash
        }

        await Task.WhenAll(purged.Select(entry => Evict(entry.Hash, entry.Info)));
        return purged.Count(entry => entry.Info is not null);
    }

    private async Task Evict(string keyHash, CacheEntryInfo? entry)
    {
        try
        {
            await GrainFactory.Reference<ICacheEntryGrain>(GrainKeys.For(Tenant, keyHash)).Evict();
            if (entry?.SemanticScope is { } scope)
            {
                await vectors.DeleteSource(Tenant, scope, keyHash);
            }
        }
        catch (Exception exception)
        {
            LogEvictionFailed(logger, exception, Tenant, keyHash);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Evicting cached answer {KeyHash} of tenant {Tenant} failed; it expires with its TTL")]
    private static partial void LogEvictionFailed(ILogger logger, Exception exception, string tenant, string keyHash);
}
