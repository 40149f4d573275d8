using Conversations.Caching;
using Conversations.Grains.Caching;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Caching;

/// <summary>A tenant's bound on cached answers: expired entries go first, then the least recently used.</summary>
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class CacheLruTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Past_the_entry_bound_the_least_recently_used_goes_and_a_use_keeps_an_entry()
    {
        var lru = new CacheLru();
        lru.Add("a", Entry(100));
        lru.Add("b", Entry(100));
        lru.Add("c", Entry(100));
        lru.Touch("a");

        var evicted = lru.OverBound(maxEntries: 2, maxBytes: long.MaxValue, Now);

        Assert.Equal(["b"], evicted.Select(e => e.Hash));
        Assert.Equal((2, 200L), (lru.Count, lru.Bytes));
        Assert.Equal(["c"], lru.OverBound(maxEntries: 1, maxBytes: long.MaxValue, Now).Select(e => e.Hash));
    }

    [Fact]
    public void Past_the_byte_bound_expired_entries_go_first_then_the_oldest_until_it_holds()
    {
        var lru = new CacheLru();
        lru.Add("old", Entry(400));
        lru.Add("expired", Entry(100, expired: true));
        lru.Add("recent", Entry(400));
        lru.Add("newest", Entry(400));

        var evicted = lru.OverBound(maxEntries: 10, maxBytes: 900, Now);

        Assert.Equal(["expired", "old"], evicted.Select(e => e.Hash));
        Assert.Equal(800, lru.Bytes);
        Assert.Empty(lru.OverBound(maxEntries: 10, maxBytes: 900, Now));
    }

    [Fact]
    public void Storing_an_entry_again_replaces_it_and_a_purge_removes_only_what_matches()
    {
        var lru = new CacheLru();
        lru.Add("a", Entry(100, alias: "one"));
        lru.Add("b", Entry(100, alias: "two"));
        lru.Add("a", Entry(300, alias: "one"));

        var purged = lru.Remove(e => e.Info.Alias == "one");

        Assert.Equal(["a"], purged.Select(e => e.Hash));
        Assert.Equal((1, 100L), (lru.Count, lru.Bytes));
    }

    private static CacheEntryInfo Entry(long bytes, bool expired = false, string alias = "m") =>
        new(alias, bytes, expired ? Now.AddSeconds(-1) : Now.AddHours(1), null);
}
