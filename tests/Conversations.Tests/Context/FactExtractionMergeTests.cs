using Conversations.Tests.Infrastructure;
using Conversations.Context;
using Conversations.Grains.Context;

namespace Conversations.Tests.Context;

/// <summary>How an extractor's answer is read and merged into a conversation's facts: leniently, one change at a time.</summary>
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class FactExtractionMergeTests
{
    private static readonly Dictionary<string, string> None = [];

    [Fact]
    public void An_answer_is_read_from_its_first_brace_to_its_last_keeping_strings_and_nulls_only()
    {
        var changes = FactExtraction.Parse("""Sure! Here you go: {"city": "Lisbon", "old": null, "age": 41, "pets": ["cat"], "nested": {"a": "b"}} Hope that helps.""");

        Assert.NotNull(changes);
        Assert.Equal(new Dictionary<string, string?> { ["city"] = "Lisbon", ["old"] = null }, changes);
    }

    [Theory]
    [InlineData("the gateway keeps each conversation on the server")]
    [InlineData("{not json}")]
    [InlineData("""["a", "b"]""")]
    [InlineData("} backwards {")]
    [InlineData("""{"city": "Lisbon" """)]
    public void An_answer_without_a_json_object_is_not_read(string answer) => Assert.Null(FactExtraction.Parse(answer));

    [Fact]
    public void A_string_sets_a_fact_and_null_removes_one()
    {
        var current = new Dictionary<string, string> { ["city"] = "Porto", ["drink"] = "tea" };

        var merged = FactExtraction.Merge(current, current, new Dictionary<string, string?> { ["city"] = "Lisbon", ["drink"] = null, ["dog"] = " Rex " });

        Assert.Equal(new Dictionary<string, string> { ["city"] = "Lisbon", ["dog"] = "Rex" }, merged);
    }

    [Fact]
    public void A_change_that_breaks_a_limit_is_dropped_alone()
    {
        var changes = new Dictionary<string, string?>
        {
            ["no spaces"] = "x",
            [new string('k', Facts.MaxKeyLength + 1)] = "x",
            ["long"] = new string('v', Facts.MaxValueLength + 1),
            ["blank"] = "  ",
            ["fine"] = "kept",
        };

        var merged = FactExtraction.Merge(None, None, changes);

        Assert.Equal(new Dictionary<string, string> { ["fine"] = "kept" }, merged);
    }

    [Fact]
    public void No_new_fact_is_added_past_the_count_but_existing_ones_still_change()
    {
        var full = Enumerable.Range(0, Facts.MaxCount).ToDictionary(i => $"k{i}", i => "v");

        var merged = FactExtraction.Merge(full, full, new Dictionary<string, string?> { ["extra"] = "x", ["k0"] = "changed" });

        Assert.Equal(Facts.MaxCount, merged.Count);
        Assert.False(merged.ContainsKey("extra"));
        Assert.Equal("changed", merged["k0"]);
    }

    [Fact]
    public void A_fact_written_since_the_extractor_read_the_facts_stands()
    {
        var read = new Dictionary<string, string> { ["city"] = "Porto" };
        var current = new Dictionary<string, string> { ["city"] = "Faro", ["drink"] = "tea", ["added"] = "by a client" };

        var merged = FactExtraction.Merge(read, current, new Dictionary<string, string?> { ["city"] = "Lisbon", ["added"] = null, ["dog"] = "Rex" });

        Assert.Equal(new Dictionary<string, string> { ["city"] = "Faro", ["drink"] = "tea", ["added"] = "by a client", ["dog"] = "Rex" }, merged);
    }

    [Fact]
    public void Unread_items_start_after_the_mark_and_stop_at_the_token_limit_but_take_at_least_one()
    {
        var items = Enumerable.Range(0, 5).Select(i => new ConversationItem($"msg_{i}", Roles.User, $"text {i}", 10, DateTimeOffset.UnixEpoch)).ToList();

        Assert.Equal(["msg_0", "msg_1", "msg_2", "msg_3", "msg_4"], FactExtraction.Unread(items, null, 100).Select(i => i.Id));
        Assert.Equal(["msg_2", "msg_3"], FactExtraction.Unread(items, "msg_1", 25).Select(i => i.Id));
        Assert.Equal(["msg_2"], FactExtraction.Unread(items, "msg_1", 1).Select(i => i.Id));
        Assert.Empty(FactExtraction.Unread(items, "msg_4", 100));
    }
}
