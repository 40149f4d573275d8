using Orleans.Concurrency;

namespace Conversations.Tenancy;

/// <summary>
/// What one tenant stores, keyed by tenant id: its conversations and the bytes of their items, counted in one
/// activation so a cap holds exactly across the cluster. A conversation reserves before it writes, releases what it
/// reserved if the write fails, and releases what it holds once it is deleted.
/// See docs/decisions/0030-tenant-storage-caps-counted-by-a-tenant-grain.md.
/// </summary>
public interface ITenantStorageGrain : IGrainWithStringKey
{
    /// <summary>Counts <paramref name="change"/>, once stored, or refuses it with a 429 when it would pass a cap of <paramref name="limits"/>.</summary>
    /// <remarks>Checked and counted without awaiting, so atomic; the answer waits for the write, which changes arriving meanwhile share.</remarks>
    [AlwaysInterleave]
    Task<GatewayError?> Reserve(StoredData change, StorageLimits limits);

    /// <summary>Stops counting <paramref name="change"/> (never below zero), once stored.</summary>
    [AlwaysInterleave]
    Task<GatewayError?> Release(StoredData change);

    /// <summary>What is counted now (for a cap that was unlimited, what was written while it was not).</summary>
    [AlwaysInterleave]
    Task<StoredData> Get();
}
