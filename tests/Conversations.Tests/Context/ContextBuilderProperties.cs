using Conversations.Tests.Infrastructure;
using Conversations.Context;
using Conversations.Grains.Context;
using Conversations.Providers;
using CsCheck;

namespace Conversations.Tests.Context;

/// <summary>The context builder's promises, over random conversations, budgets and policies.</summary>
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class ContextBuilderProperties
{
    private static readonly TokenCounter Tokens = TokenCounter.Shared;
    private static readonly ContextBuilder Builder = new(Tokens);
    private static readonly string[] Words = ["the", "gateway", "remembers", "Ada", "likes", "tea", "and", "long", "conversations", "about", "Orleans"];

    [Fact]
    public void The_context_fits_the_budget_keeps_the_newest_input_and_whole_recent_turns()
    {
        var roles = Gen.OneOf(Gen.Const(Roles.User), Gen.Const(Roles.Assistant), Gen.Const(Roles.User), Gen.Const(Roles.Assistant), Gen.Const(Roles.System));
        var item = Gen.Select(roles, Gen.Int[1, 40], Gen.Int[0, 1000], (role, words, seed) => Item(role, Text(words, seed)));
        var facts = Gen.Dictionary(Gen.Int[0, 50].Select(i => "key" + i), Gen.Int[1, 30].Select(n => Text(n, n)))[0, 6];
        var cases = Gen.Select(item.Array[0, 60], item.Array[1, 3], facts, Gen.Int[20, 3_000], Gen.Int[0, 30], Gen.Int[0, 200], Gen.Bool, Gen.Int[0, 60])
            .Select((history, input, f, budget, turns, stateTokens, instructions, summarized) =>
                (history, input, f, budget, turns: turns == 0 ? (int?)null : turns, stateTokens, instructions, summary: Summary(history, summarized)))
            .Select(Gen.Int[0, 4], Gen.Int[0, 300], (c, recalls, recallTokens) => (c, recalled: c.history.Where((_, i) => i % 7 == 3).Take(recalls).Reverse().ToArray(), recallTokens));

        cases.Sample(r =>
        {
            var c = r.c;
            var policy = new ContextPolicy(WindowTurns: c.turns, StateTokens: c.stateTokens, Truncation: true, RecallTopK: 3, RecallTokens: r.recallTokens);
            var built = Builder.Build(new ContextInputs(c.instructions ? "Answer briefly." : null, c.f, c.history, c.input, c.budget, policy, c.summary, r.recalled));
            var fixedTokens = Tokens.CountPrompt([.. (c.instructions ? ["Answer briefly."] : Array.Empty<string>()), .. c.input.Select(i => i.Text)]);
            if (!built.IsSuccess)
            {
                // Refused only when instructions and input alone do not fit.
                return built.Error.Code == "context_length_exceeded" && fixedTokens > c.budget;
            }

            var messages = built.Value.Messages;
            var window = built.Value.View.Sections.FirstOrDefault(s => s.Name == ContextSections.Window)?.ItemIds ?? [];
            var historyIds = c.history.Select(i => i.Id).ToList();
            var firstKept = historyIds.Count - window.Count;
            return Tokens.CountPrompt(messages.Select(m => m.Text)) <= c.budget                                // within budget, counted afresh
                && built.Value.View.TotalTokens == Tokens.CountPrompt(messages.Select(m => m.Text))            // and the view says so
                && messages.TakeLast(c.input.Length).Select(m => m.Text).SequenceEqual(c.input.Select(i => i.Text)) // the newest input, last
                && window.SequenceEqual(historyIds.Skip(firstKept))                                          // the window is the recent end
                && (window.Count == 0 || firstKept == 0 || c.history[firstKept].Role == Roles.User
                    || c.summary?.Items == firstKept)                                                        // starting at a whole turn (or where the summary ends)
                && (c.turns is not { } limit || TurnCount(c.history.Skip(firstKept)) <= limit)
                && built.Value.View.LeftOut.Where(l => !l.Id.StartsWith("fact:", StringComparison.Ordinal)) is var olderItems
                && olderItems.Select(l => l.Id).SequenceEqual(historyIds.Take(firstKept))                      // nothing vanishes unexplained, in order
                && (built.Value.View.Sections.FirstOrDefault(s => s.Name == ContextSections.Recall)?.ItemIds ?? []) is var recalledIds
                && recalledIds.Count <= 3 && !recalledIds.Intersect(window).Any()                              // recall never repeats the window
                && (built.Value.View.Sections.FirstOrDefault(s => s.Name == ContextSections.Summary)?.ItemIds ?? []) is var summarizedIds
                && (summarizedIds.Count == 0 || summarizedIds.SequenceEqual(historyIds.Take(c.summary!.Items)))  // the summary stands for the items it covers
                && (c.turns is { } turnLimit && TurnCount(c.history.Skip(firstKept)) == turnLimit ? LeftOutReasons.TurnLimit : LeftOutReasons.TokenBudget) is var olderReason
                && olderItems.All(l => l.Reason == (recalledIds.Contains(l.Id) ? LeftOutReasons.Recalled     // each left out for its reason
                    : summarizedIds.Contains(l.Id) ? LeftOutReasons.Summarized : olderReason))
                && built.Value.Unsummarized.Select(i => i.Id).SequenceEqual(built.Value.View.LeftOut                 // what a summarizer has yet to read:
                    .Where(l => l.Reason is LeftOutReasons.TurnLimit or LeftOutReasons.TokenBudget or LeftOutReasons.Recalled) // older than the window,
                    .Select(l => l.Id).Except(summarizedIds));                                                       // not under the summary
        }, iter: 400);
    }

    [Fact]
    public void A_function_call_and_its_output_are_sent_together_or_not_at_all_under_every_strategy()
    {
        // Turns of: a user message, then maybe text, then 0-3 calls with their outputs (or, sometimes, abandoned without them), then maybe an answer.
        var turn = Gen.Select(Gen.Int[1, 30], Gen.Int[0, 3], Gen.Int[0, 9], Gen.Bool, Gen.Int[0, 1000], (words, calls, abandon, answered, seed) =>
        {
            List<ConversationItem> items = [Item(Roles.User, Text(words, seed))];
            var made = Enumerable.Range(0, calls).Select(c => CallItem($"call_{seed}_{c}", Text(c + 2, seed + c))).ToList();
            items.AddRange(made);
            if (abandon > 0)
            {
                items.AddRange(made.Select(call => OutputItem(call.Call!.CallId, Text(words / 2 + 1, seed + 7))));
            }

            if (answered)
            {
                items.Add(Item(Roles.Assistant, Text(words, seed + 3)));
            }

            return items;
        });
        var cases = Gen.Select(turn.Array[0, 25], Gen.Int[20, 2_000], Gen.Int[0, 8], Gen.Int[0, 80], Gen.Int[0, 4], Gen.Bool)
            .Select((turns, budget, windowTurns, summarized, recalls, answerPending) =>
            {
                var history = turns.SelectMany(t => t).ToArray();
                var pending = history.Reverse().TakeWhile(i => i.Call is not null).Select(i => i.Call!.CallId).Reverse().ToList();
                ConversationItem[] input = answerPending && pending.Count > 0
                    ? [.. pending.Select(id => OutputItem(id, "result of " + id))] // the client answers the model's calls
                    : [Item(Roles.User, "and then?")];
                return (history, input, budget, windowTurns: windowTurns == 0 ? (int?)null : windowTurns,
                    summary: Summary(history, summarized), recalled: history.Where((_, i) => i % 5 == 2).Take(recalls).ToArray());
            });

        cases.Sample(c =>
        {
            var policy = new ContextPolicy(WindowTurns: c.windowTurns, Truncation: true, RecallTopK: 4, RecallTokens: 200);
            var built = Builder.Build(new ContextInputs(null, new Dictionary<string, string>(), c.history, c.input, c.budget, policy, c.summary, c.recalled));
            if (!built.IsSuccess)
            {
                return built.Error.Code == "context_length_exceeded";
            }

            var messages = built.Value.Messages;
            var open = new HashSet<string>(StringComparer.Ordinal);
            foreach (var message in messages)
            {
                if (message.Call is { } call && !open.Add(call.CallId))
                {
                    return false;
                }

                if (message.CallId is { } answered && !open.Remove(answered))
                {
                    return false; // an output with no call before it
                }
            }

            var windowIds = built.Value.View.Sections.FirstOrDefault(s => s.Name == ContextSections.Window)?.ItemIds ?? [];
            return open.Count == 0                                                                              // every call answered
                && Tokens.CountPrompt(messages.Select(m => m.CountedText)) <= c.budget                          // within budget
                && messages.TakeLast(c.input.Length).SequenceEqual(c.input.Select(i => i.ToNew()))              // the input, last
                && c.history.All(i => windowIds.Contains(i.Id) != built.Value.View.LeftOut.Any(l => l.Id == i.Id)); // each item sent or explained
        }, iter: 400);
    }

    [Fact]
    public void With_truncation_disabled_the_whole_history_is_sent_or_the_turn_is_refused()
    {
        var history = Enumerable.Range(0, 40).Select(i => Item(i % 2 == 0 ? Roles.User : Roles.Assistant, Text(20, i))).ToArray();
        var input = new[] { Item(Roles.User, "and now?") };

        var refused = Builder.Build(new ContextInputs(null, new Dictionary<string, string>(), history, input, 200, new ContextPolicy(Truncation: false)));
        var whole = Builder.Build(new ContextInputs(null, new Dictionary<string, string>(), history, input, 100_000, new ContextPolicy(Truncation: false)));

        Assert.Equal("context_length_exceeded", refused.Error?.Code);
        Assert.Equal(41, whole.Value!.Messages.Count);
    }

    [Fact]
    public void Facts_that_do_not_fit_their_allowance_are_left_out_by_name()
    {
        var facts = new Dictionary<string, string> { ["name"] = "Ada", ["notes"] = Text(200, 1) };

        var built = Builder.Build(new ContextInputs(null, facts, [], [Item(Roles.User, "hi")], 10_000, new ContextPolicy(StateTokens: 40)));

        var state = Assert.Single(built.Value!.View.Sections, s => s.Name == ContextSections.State);
        Assert.Equal(["name"], state.ItemIds);
        Assert.Contains(new LeftOut("fact:notes", LeftOutReasons.StateAllowance), built.Value.View.LeftOut);
        Assert.Contains("- name: Ada", built.Value.Messages[0].Text, StringComparison.Ordinal);
        Assert.True(state.Tokens <= 40);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(6_000)]
    public void A_build_reads_only_the_window_of_a_long_history_and_its_view_still_explains_every_older_item(int summarized)
    {
        var items = Enumerable.Range(0, 10_000).Select(i => Item(i % 2 == 0 ? Roles.User : Roles.Assistant, Text(5, i))).ToArray();
        var history = new CountingList([.. items]);

        var built = Builder.Build(new ContextInputs(null, new Dictionary<string, string>(), history, [Item(Roles.User, "and now?")], 100_000,
            new ContextPolicy(WindowTurns: 10), Summary(items, summarized)));

        Assert.Equal(summarized > 0 ? 22 : 21, built.Value!.Messages.Count); // the summary, the 10 turns, the input
        Assert.InRange(history.Reads, 20, 200); // the 10 turns sent and the turn before them, not the 9,980 older items
        Assert.Equal(items[summarized..9_980].Select(i => i.Id), built.Value.Unsummarized.Select(i => i.Id));
        Assert.Equal(items[..9_980].Select(i => i.Id), built.Value.View.LeftOut.Select(l => l.Id));
        Assert.Equal(9_980 - summarized, built.Value.View.LeftOut.Count(l => l.Reason == LeftOutReasons.TurnLimit));
    }

    [Fact]
    public void A_summary_whose_recorded_count_no_longer_matches_is_found_by_its_last_item_or_not_at_all()
    {
        var history = Enumerable.Range(0, 8).Select(i => Item(i % 2 == 0 ? Roles.User : Roles.Assistant, Text(3, i))).ToArray();
        var summary = Summary(history, 6)!;

        Assert.Equal(6, ContextBuilder.Covered(history, summary));
        Assert.Equal(6, ContextBuilder.Covered(history, summary with { Items = 4 }));  // the count is a hint; the item decides
        Assert.Equal(6, ContextBuilder.Covered(history, summary with { Items = 40 }));
        Assert.Equal(0, ContextBuilder.Covered(history, summary with { ThroughItemId = "msg_gone" }));
    }

    /// <summary>A history that counts how many of its items are read, by index or by enumeration.</summary>
    private sealed class CountingList(List<ConversationItem> items) : IReadOnlyList<ConversationItem>
    {
        public int Reads { get; private set; }

        public int Count => items.Count;

        public ConversationItem this[int index]
        {
            get
            {
                Reads++;
                return items[index];
            }
        }

        public IEnumerator<ConversationItem> GetEnumerator()
        {
            foreach (var item in items)
            {
                Reads++;
                yield return item;
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>A summary of the first <paramref name="count"/> items (none when 0 or beyond the history).</summary>
    private static ConversationSummary? Summary(ConversationItem[] history, int count) => count == 0 || count > history.Length
        ? null
        : new ConversationSummary(Text(count, count), history[count - 1].Id, count, DateTimeOffset.UnixEpoch, "summarizer");

    private static int TurnCount(IEnumerable<ConversationItem> items) =>
        items.Select((item, index) => item.Role == Roles.User || index == 0).Count(starts => starts);

    private static ConversationItem Item(string role, string text) =>
        new(Ids.New(Ids.Message), role, text, Tokens.Count(text), DateTimeOffset.UnixEpoch);

    private static ConversationItem CallItem(string callId, string arguments)
    {
        var call = new FunctionCall(callId, "lookup", $$"""{"q":"{{arguments}}"}""");
        return new(Ids.New(Ids.FunctionCall), Roles.Assistant, string.Empty, Tokens.Count(ItemKinds.CountedText(string.Empty, call)), DateTimeOffset.UnixEpoch, null, call);
    }

    private static ConversationItem OutputItem(string callId, string output) =>
        new(Ids.New(Ids.FunctionCallOutput), Roles.Tool, output, Tokens.Count(output), DateTimeOffset.UnixEpoch, null, null, callId);

    private static string Text(int words, int seed) => string.Join(' ', Enumerable.Range(seed, words).Select(i => Words[i % Words.Length]));
}
