using Conversations.Context;
using Conversations.Grains.Context;
using Conversations.Providers;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Context;

/// <summary>The recall section: earlier parts of the conversation, in the order they were said, dated, older statements of a fact marked.</summary>
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class RecallSectionTests
{
    private static readonly ContextBuilder Builder = new(TokenCounter.Shared);
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Recalled_items_are_listed_oldest_first_with_when_each_was_said_and_an_older_statement_marked_superseded()
    {
        var history = Enumerable.Range(0, 40).Select(i => Item(i, i % 2 == 0 ? Roles.User : Roles.Assistant, $"line {i} about the weather")).ToList();
        history[4] = Item(4, Roles.User, "I live in Tromsø.");
        history[20] = Item(20, Roles.User, "We moved, I live in Bergen now.");
        history[10] = Item(10, Roles.User, "My cat is called Pixel.");
        var recalledBestFirst = new[] { history[20], history[4], history[10] };
        var marks = new Dictionary<string, RecallMark>
        {
            [history[4].Id] = new(4, history[20].Id),
            [history[10].Id] = new(10, null),
            [history[20].Id] = new(20, null),
        };

        var built = Builder.Build(new ContextInputs(null, new Dictionary<string, string>(), history, [Item(40, Roles.User, "Where do I live?")], 10_000,
            new ContextPolicy(WindowTurns: 4, RecallTopK: 3, RecallTokens: 500), null, recalledBestFirst) { RecallMarks = marks });

        var section = Assert.Single(built.Value!.Messages, m => m.Text.StartsWith(ContextBuilder.RecallHeading, StringComparison.Ordinal)).Text;
        Assert.Equal(
            [
                "- (2026-03-01 09:04 UTC; superseded by a later message) user: I live in Tromsø.",
                "- (2026-03-01 09:10 UTC) user: My cat is called Pixel.",
                "- (2026-03-01 09:20 UTC) user: We moved, I live in Bergen now.",
            ],
            section.Split('\n').Skip(1));
        Assert.Equal([history[4].Id, history[10].Id, history[20].Id], built.Value.View.Sections.Single(s => s.Name == ContextSections.Recall).ItemIds);
    }

    [Fact]
    public void When_the_allowance_is_short_the_best_matches_are_kept_and_still_listed_in_the_order_said()
    {
        var history = Enumerable.Range(0, 40).Select(i => Item(i, i % 2 == 0 ? Roles.User : Roles.Assistant, $"line {i} about the long and winding history of the weather in the north")).ToList();
        var recalledBestFirst = new[] { history[30], history[2], history[16] };
        var marks = recalledBestFirst.ToDictionary(i => i.Id, i => new RecallMark(int.Parse(i.Text.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), null));
        var oneLine = TokenCounter.Shared.Count(ContextBuilder.RecallHeading) + 60;

        var built = Builder.Build(new ContextInputs(null, new Dictionary<string, string>(), history, [Item(40, Roles.User, "and?")], 10_000,
            new ContextPolicy(WindowTurns: 2, RecallTopK: 3, RecallTokens: oneLine + 25), null, recalledBestFirst) { RecallMarks = marks });

        Assert.Equal([history[2].Id, history[30].Id], built.Value!.View.Sections.Single(s => s.Name == ContextSections.Recall).ItemIds);
    }

    private static ConversationItem Item(int minute, string role, string text) =>
        new("msg_" + minute.ToString("D3", System.Globalization.CultureInfo.InvariantCulture), role, text, TokenCounter.Shared.Count(text), Start.AddMinutes(minute));
}
