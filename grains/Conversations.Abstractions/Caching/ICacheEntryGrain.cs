using Orleans.Concurrency;

namespace Conversations.Caching;

/// <summary>
/// One cached answer, keyed <c>{tenant}/{key hash}</c>, so a hit on any silo is a hit everywhere; and the single flight of
/// identical misses: the first <see cref="Find"/> that finds nothing leads (makes the model call), the others wait for its
/// <see cref="Store"/> or <see cref="Abandon"/>.
/// </summary>
public interface ICacheEntryGrain : IGrainWithStringKey
{
    /// <summary>The fresh answer; else the lead for <paramref name="leaseId"/>; else (another lead's fill outlasted the wait) go on alone.</summary>
    [AlwaysInterleave]
    Task<CacheLookup> Find(string leaseId);

    /// <summary>The fresh answer or null, without leading anything (a semantic match reads it).</summary>
    [AlwaysInterleave]
    Task<CachedAnswer?> Peek();

    /// <summary>Keeps a complete answer until its expiry, ends <paramref name="leaseId"/>'s lead and answers its waiters.</summary>
    Task Store(string leaseId, CachedAnswer answer);

    /// <summary>Ends <paramref name="leaseId"/>'s lead with nothing stored (the call failed or was cut): a waiter leads next.</summary>
    Task Abandon(string leaseId);

    /// <summary>Forgets the answer (eviction or purge).</summary>
    Task Evict();
}

/// <summary>What a lookup found: an <see cref="Answer"/>, the lead of the fill (<see cref="Leads"/>), or neither.</summary>
[GenerateSerializer, Immutable, Alias("cache.Lookup")]
public sealed record CacheLookup([property: Id(0)] CachedAnswer? Answer, [property: Id(1)] bool Leads);

/// <summary>
/// A complete answer as the model gave it: its streamed pieces in their original boundaries, its result (with the usage and
/// cost of the call that made it), and what it was cached under.
/// </summary>
[GenerateSerializer, Immutable, Alias("cache.Answer")]
public sealed record CachedAnswer(
    [property: Id(0)] IReadOnlyList<string> Deltas,
    [property: Id(1)] CompletionResult Result,
    [property: Id(2)] DateTimeOffset ExpiresAt,
    [property: Id(3)] string Alias,
    [property: Id(4)] string? SemanticScope = null)
{
    /// <summary>What the answer holds in memory, roughly: its text twice (pieces and result), its calls, and a fixed overhead.</summary>
    public long Bytes => 256 + 2L * (Deltas.Sum(d => (long)d.Length) + Result.Text.Length)
        + Result.Calls.Sum(c => 2L * (c.CallId.Length + c.Name.Length + c.Arguments.Length));
}

/// <summary>
/// A tenant's cached answers, keyed by tenant: which exist, how large, used when; it evicts the least recently used past
/// the tenant's bound, and purges by alias, key hash or all.
/// </summary>
public interface ICacheDirectoryGrain : IGrainWithStringKey
{
    [OneWay]
    Task Stored(string keyHash, CacheEntryInfo entry);

    [OneWay]
    Task Used(string keyHash);

    /// <summary>Evicts the entries that match (all with neither filter); how many were evicted.</summary>
    Task<int> Purge(string? alias, string? keyHash);
}

/// <summary>What a tenant's directory knows of one cached answer.</summary>
[GenerateSerializer, Immutable, Alias("cache.EntryInfo")]
public sealed record CacheEntryInfo(
    [property: Id(0)] string Alias,
    [property: Id(1)] long Bytes,
    [property: Id(2)] DateTimeOffset ExpiresAt,
    [property: Id(3)] string? SemanticScope);
