namespace Conversations.Grains.Caching;

/// <summary>The response cache's bounds, from <c>Conversations:Cache</c> (docs/configuration.md).</summary>
public sealed class CacheOptions
{
    public const string Section = "Conversations:Cache";

    /// <summary>Cached answers one tenant keeps; past it, the least recently used go.</summary>
    public int MaxEntriesPerTenant { get; set; } = 10_000;

    /// <summary>The memory one tenant's cached answers may hold (their text, roughly); past it, the least recently used go.</summary>
    public long MaxBytesPerTenant { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// How long an identical miss waits for the call in flight before it makes its own. Below Orleans' response timeout (30 s),
    /// so the wait is a grain call that never times out.
    /// </summary>
    public TimeSpan FillWait { get; set; } = TimeSpan.FromSeconds(20);
}
