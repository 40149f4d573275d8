using Conversations.Tests.Infrastructure;
using Conversations.Indexing;

namespace Conversations.Tests.Indexing;

/// <summary>The conversation index's pure rules: shards paged with a cursor and merged give every entry once, newest first; what a search matches.</summary>
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class ConversationIndexTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Paging_the_merged_shards_by_cursor_gives_every_conversation_once_newest_first()
    {
        // Some share a creation time, so the id must break ties for the cursor to be exact.
        var entries = Enumerable.Range(0, 200).Select(i => Entry($"conv_{i:000}", Start.AddSeconds(i / 3))).ToList();
        var shards = entries.GroupBy(e => ConversationIndex.Shard(e.Id)).Select(g => g.Order(ConversationIndex.NewestFirst).ToList()).ToList();
        Assert.True(shards.Count > 1);

        var seen = new List<string>();
        var query = new ConversationIndexQuery(7);
        for (var pages = 0; pages < 100; pages++)
        {
            var page = ConversationIndex.Merge(shards.Select(shard => ConversationIndex.Page(shard, query)), query.Limit);
            seen.AddRange(page.Entries.Select(e => e.Id));
            if (!page.HasMore)
            {
                break;
            }

            query = query with { AfterCreatedAt = page.Entries[^1].CreatedAt, AfterId = page.Entries[^1].Id };
        }

        Assert.Equal(entries.Order(ConversationIndex.NewestFirst).Select(e => e.Id), seen);
    }

    [Theory]
    [InlineData("conv_ab", true)]
    [InlineData("conv_b", false)]
    [InlineData("quarterly", true)]
    [InlineData("Quarterly rep", true)]
    [InlineData("report", false)]
    [InlineData("team=sal", true)]
    [InlineData("team=ops", false)]
    [InlineData("missing=x", false)]
    [InlineData("", true)]
    public void A_search_matches_an_id_prefix_a_title_prefix_or_a_metadata_value_prefix(string search, bool matches)
    {
        var entry = new ConversationEntry("conv_abc", Start, new Dictionary<string, string> { ["title"] = "Quarterly report", ["team"] = "sales" });

        Assert.Equal(matches, ConversationIndex.Matches(entry, search));
    }

    private static ConversationEntry Entry(string id, DateTimeOffset at) => new(id, at, new Dictionary<string, string>());
}
