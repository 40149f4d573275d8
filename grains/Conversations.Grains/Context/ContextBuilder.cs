using System.Text;
using Conversations.Context;
using Conversations.Grains.Guardrails;
using Conversations.Guardrails;
using Conversations.Providers;

namespace Conversations.Grains.Context;

/// <summary>
/// Builds what the model sees on a turn, under a token budget counted with the tokenizer (the same
/// count, framing included, that <see cref="TokenCounter.CountPrompt"/> gives): instructions, the
/// conversation's facts, the most recent whole turns that fit (the window), and the new input, which
/// is always present. A turn is a user message with everything up to the next one, so a question
/// never loses its answer, nor a function call its output (<see cref="ToolPairs"/>). Older turns are left out
/// from the oldest end only: the window is always the recent, unbroken end of the conversation.
/// </summary>
public sealed class ContextBuilder(TokenCounter tokens)
{
    public const string FactsHeading = "Known facts about this conversation, each with when it was stated:";
    public const string SummaryHeading = "Summary of the earlier conversation:";
    public const string RecallHeading = "Earlier parts of this conversation that may be relevant, oldest first, each with when it was said:";
    public const string SupersededMark = "superseded by a later message";
    public const string KnowledgeHeading = "Knowledge that may help; cite the sources you use by their [id]:";

    public Result<BuiltContext> Build(ContextInputs inputs)
    {
        var budget = inputs.Budget;
        var used = TokenCounter.MessageOverhead; // the prompt's own framing
        var sections = new List<ContextSection>();
        var leftOut = new LeftOutList(inputs.History);
        foreach (var omitted in inputs.Omitted ?? [])
        {
            leftOut.Add(omitted);
        }

        var head = new List<NewItem>();
        var screen = new RetrievedScreen(inputs.Injection); // indirect injection, chunk by chunk and item by item

        if (inputs.Instructions is { Length: > 0 } instructions)
        {
            var cost = Cost(tokens.Count(instructions));
            used += cost;
            head.Add(new NewItem(Roles.System, instructions));
            sections.Add(new ContextSection(ContextSections.Instructions, cost, [], 1));
        }

        var inputCost = inputs.Input.Sum(item => Cost(item.Tokens));
        used += inputCost;
        if (used > budget)
        {
            return TooLong($"The instructions and input alone take {used} tokens; the context budget is {budget}.");
        }

        if (Facts(inputs, Math.Min(inputs.Policy.StateTokens ?? int.MaxValue, budget - used), leftOut) is (var factsText, var factKeys, var factsCost) { Ids.Count: > 0 })
        {
            used += factsCost;
            head.Add(new NewItem(Roles.System, factsText));
            sections.Add(new ContextSection(ContextSections.State, factsCost, factKeys, 1));
        }

        // Items the summary covers are seen through it, never twice: the history the window draws on starts after them.
        var history = inputs.History;
        var start = 0;
        if (inputs.Summary is { } summary && Covered(history, summary) is var covered and > 0)
        {
            var text = SummaryHeading + "\n" + summary.Text;
            var cost = Cost(tokens.Count(text));
            if (used + cost <= budget)
            {
                used += cost;
                head.Add(new NewItem(Roles.System, text));
                sections.Add(new ContextSection(ContextSections.Summary, cost, [], 1)); // its item ids are listed with the view
                leftOut.AddHistory(0, covered, LeftOutReasons.Summarized);
                start = covered;
            }
        }

        // Knowledge comes before history: it is what the tenant chose to ground answers in.
        IReadOnlyList<string>? cited = null;
        if (Knowledge(inputs.Knowledge, inputs.Policy, Math.Min(inputs.Policy.KnowledgeTokens ?? 0, budget - used), screen) is (var knowledgeText, var chunkIds, var knowledgeCost) { Ids.Count: > 0 })
        {
            used += knowledgeCost;
            head.Add(new NewItem(Roles.System, knowledgeText));
            sections.Add(new ContextSection(ContextSections.Knowledge, knowledgeCost, chunkIds, 1));
            cited = chunkIds;
        }

        // Room for recall is held back from the window, so long conversations still recall.
        var recallCandidates = inputs.Policy.Recalls ? inputs.Recalled : [];
        var recallReserve = recallCandidates.Count == 0 ? 0 : Math.Min(inputs.Policy.RecallTokens ?? 0, budget - used);
        used += recallReserve;

        // Whole turns from the newest back, until one is over the limit or the budget: only the window is read, not the whole history.
        var windowStart = history.Count;
        var windowCost = 0;
        var olderCount = 0;
        for (var taken = 1; windowStart > start; taken++)
        {
            var turnStart = TurnStart(history, start, windowStart);
            var cost = 0;
            for (var i = turnStart; i < windowStart; i++)
            {
                cost += Cost(history[i].Tokens);
            }

            var reason = inputs.Policy.Truncation == false ? null
                : taken > (inputs.Policy.WindowTurns ?? int.MaxValue) ? LeftOutReasons.TurnLimit
                : used + windowCost + cost > budget ? LeftOutReasons.TokenBudget
                : null;
            if (reason is not null)
            {
                // Everything older goes too, so the window stays the unbroken recent end.
                olderCount = windowStart - start;
                leftOut.AddHistory(start, olderCount, reason);
                break;
            }

            windowCost += cost;
            windowStart = turnStart;
        }

        var window = new List<ConversationItem>(history.Count - windowStart);
        for (var i = windowStart; i < history.Count; i++)
        {
            window.Add(history[i]);
        }

        // A call and its output are seen together or not at all (a summary or the budget can part them).
        var unpaired = ToolPairs.Unpaired([.. window, .. inputs.Input]);
        if (inputs.Input.FirstOrDefault(item => unpaired.Contains(item.Id) && item.CallId is not null) is { } answer)
        {
            return TooLong($"The function call that the output for call_id {answer.CallId} answers does not fit the context budget of {budget} tokens.");
        }

        foreach (var item in window.Where(item => unpaired.Contains(item.Id)))
        {
            windowCost -= Cost(item.Tokens);
            leftOut.Add(new LeftOut(item.Id, LeftOutReasons.UnpairedToolCall));
        }

        window.RemoveAll(item => unpaired.Contains(item.Id));
        used += windowCost - recallReserve;
        if (used > budget)
        {
            return TooLong($"The conversation takes {used} tokens, over the context budget of {budget}, and truncation is disabled.");
        }

        if (Recall(inputs, recallCandidates, window, Math.Min(inputs.Policy.RecallTokens ?? 0, budget - used), leftOut, screen) is (var recallText, var recalledIds, var recallCost) { Ids.Count: > 0 })
        {
            used += recallCost;
            head.Add(new NewItem(Roles.System, recallText));
            sections.Add(new ContextSection(ContextSections.Recall, recallCost, recalledIds, 1));
        }

        if (window.Count > 0)
        {
            sections.Add(new ContextSection(ContextSections.Window, windowCost, [.. window.Select(i => i.Id)], window.Count));
        }

        if (inputs.Input.Count > 0)
        {
            sections.Add(new ContextSection(ContextSections.Input, inputCost, [.. inputs.Input.Select(i => i.Id)], inputs.Input.Count));
        }

        leftOut.MarkInjected(screen.LeftOut);
        List<NewItem> messages = [.. head, .. window.Select(Message), .. inputs.Input.Select(Message)];
        return new BuiltContext(messages, cited, Enumerable.Range(start, olderCount).Select(i => history[i]), View)
        {
            ReachedStart = start == 0 && olderCount == 0, // older items, if the history had them, might have fit too
            Guardrails = screen.Report,
        };

        // Read only on demand: the summary's items and the left-out history are a pass over the older history.
        ContextView View() => new(budget, used, [.. sections.Select(section => section.Name == ContextSections.Summary
            ? section with { ItemIds = [.. history.Take(start).Select(i => i.Id)] }
            : section)], leftOut.List());
    }

    /// <summary>
    /// The recalled items (best match first) that are not already in the window, up to the policy's count and within
    /// <paramref name="allowance"/> (the best matches first), as one system message in the order they were said, each
    /// dated, an older statement of a fact marked as superseded; they are marked recalled.
    /// </summary>
    private Packed Recall(ContextInputs inputs, IReadOnlyList<ConversationItem> candidates, List<ConversationItem> window, int allowance, LeftOutList leftOut, RetrievedScreen screen)
    {
        var inWindow = window.Select(i => i.Id).ToHashSet(StringComparer.Ordinal);
        var marks = inputs.RecallMarks;
        var chosen = candidates.Where(i => !inWindow.Contains(i.Id)).Take(inputs.Policy.RecallTopK ?? 0)
            .Where(i => screen.Keeps(RetrievedScreen.Recall, i.Id, i.Text)).ToList();
        var best = Pack(RecallHeading, [.. chosen.Select(i => (i.Id, RecallLine(i, marks)))], allowance);
        var kept = best.Ids.ToHashSet(StringComparer.Ordinal);
        var packed = kept.Count == 0 ? best : Pack(RecallHeading, [.. chosen
            .Where(i => kept.Contains(i.Id))
            .OrderBy(i => marks?.GetValueOrDefault(i.Id)?.Position ?? int.MaxValue)
            .ThenBy(i => i.CreatedAt)
            .Select(i => (i.Id, RecallLine(i, marks)))], allowance);
        leftOut.MarkRecalled(packed.Ids);
        return packed;
    }

    private static string RecallLine(ConversationItem item, IReadOnlyDictionary<string, RecallMark>? marks) =>
        marks?.GetValueOrDefault(item.Id)?.SupersededBy is null
            ? $"- ({When(item.CreatedAt)}) {Transcript.Line(item)}"
            : $"- ({When(item.CreatedAt)}; {SupersededMark}) {Transcript.Line(item)}";

    /// <summary>When an item was said, to the minute, in UTC.</summary>
    public static string When(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// The knowledge section for a stateless call: its text (empty when nothing fits), the chunk ids it holds, and what the
    /// injection screen found in the chunks (those it blocked are left out).
    /// </summary>
    public (string Text, IReadOnlyList<string> Ids, GuardrailReport? Guardrails) KnowledgeSection(
        IReadOnlyList<VectorMatchRef> chunks, ContextPolicy policy, int allowance, InjectionPolicy? injection)
    {
        var screen = new RetrievedScreen(injection);
        var packed = Knowledge(chunks, policy, allowance, screen);
        return (packed.Text, packed.Ids, screen.Report);
    }

    /// <summary>The retrieved chunks (best first) the screen keeps that fit <paramref name="allowance"/>, each under its source id, as one system message.</summary>
    private Packed Knowledge(IReadOnlyList<VectorMatchRef> chunks, ContextPolicy policy, int allowance, RetrievedScreen screen) =>
        Pack(KnowledgeHeading, [.. chunks.Take(policy.KnowledgeTopK ?? 0)
            .Where(c => screen.Keeps(RetrievedScreen.Knowledge, c.Id, c.Text))
            .Select(c => (c.Id, $"[{c.Id}] {c.Text}"))], allowance);

    /// <summary>The facts, in key order, that fit <paramref name="allowance"/>, as one compact system message; the others are left out by name.</summary>
    private Packed Facts(ContextInputs inputs, int allowance, LeftOutList leftOut)
    {
        var drop = inputs.Policy.RecallSuperseded == SupersededPolicies.Drop;
        var facts = inputs.Facts.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => (f.Key, FactLine(f.Key, f.Value, inputs.FactTimes?.GetValueOrDefault(f.Key), drop))).ToList();
        var packed = Pack(FactsHeading, facts, allowance);
        var kept = packed.Ids.ToHashSet(StringComparer.Ordinal);
        foreach (var fact in facts.Where(f => !kept.Contains(f.Key)))
        {
            leftOut.Add(new LeftOut("fact:" + fact.Key, LeftOutReasons.StateAllowance));
        }

        return packed;
    }

    /// <summary>A fact with when its value was stated, and the value it replaced marked superseded (unless the policy drops those).</summary>
    private static string FactLine(string key, string value, FactTime? time, bool dropSuperseded) => time switch
    {
        null => $"- {key}: {value}",
        { Replaced: { } replaced } when !dropSuperseded =>
            $"- {key}: {value} (since {When(time.Since)}; before that {replaced}{(time.ReplacedSince is { } since ? $", since {When(since)}" : string.Empty)}, {SupersededMark})",
        _ => $"- {key}: {value} (since {When(time.Since)})",
    };

    /// <summary>
    /// A heading and as many of the lines (in order, skipping any that do not fit) as fit
    /// <paramref name="allowance"/>. Each line is counted once; the whole is counted exactly at the
    /// end (token boundaries can shift where lines meet) and trimmed from the end until it fits.
    /// </summary>
    private Packed Pack(string heading, IReadOnlyList<(string Id, string Line)> lines, int allowance)
    {
        var kept = new List<(string Id, string Line)>();
        var cost = Cost(tokens.Count(heading));
        foreach (var line in lines)
        {
            var lineTokens = tokens.Count(line.Line) + 1; // the newline
            if (cost + lineTokens <= allowance)
            {
                kept.Add(line);
                cost += lineTokens;
            }
        }

        while (kept.Count > 0)
        {
            var text = heading + "\n" + string.Join('\n', kept.Select(k => k.Line));
            var exact = Cost(tokens.Count(text));
            if (exact <= allowance)
            {
                return new Packed(text, [.. kept.Select(k => k.Id)], exact);
            }

            kept.RemoveAt(kept.Count - 1);
        }

        return new Packed(string.Empty, [], 0);
    }

    private sealed record Packed(string Text, List<string> Ids, int Cost);

    /// <summary>How many of the oldest items the summary covers; 0 if the item it ends at is gone (the summary is then stale and unused).</summary>
    public static int Covered(IReadOnlyList<ConversationItem> history, ConversationSummary summary)
    {
        // The summary records how many items it covered; unless one of them was deleted since, the last of them is there.
        if (summary.Items > 0 && summary.Items <= history.Count && history[summary.Items - 1].Id == summary.ThroughItemId)
        {
            return summary.Items;
        }

        for (var i = 0; i < history.Count; i++)
        {
            if (history[i].Id == summary.ThroughItemId)
            {
                return i + 1;
            }
        }

        return 0;
    }

    /// <summary>
    /// Where the turn that ends before <paramref name="end"/> starts: at its user message, since each user message starts
    /// a turn; anything before the first user message (from <paramref name="start"/>) is a turn of its own.
    /// </summary>
    internal static int TurnStart(IReadOnlyList<ConversationItem> history, int start, int end)
    {
        for (var i = end - 1; i > start; i--)
        {
            if (history[i].Role == Roles.User)
            {
                return i;
            }
        }

        return start;
    }

    /// <summary>
    /// What a context leaves out, in order: single entries, and runs of the history kept as ranges, so that a turn on
    /// a long conversation does not make an entry per older item. Listed only when the view is read.
    /// </summary>
    private sealed class LeftOutList(IReadOnlyList<ConversationItem> history)
    {
        private readonly List<(LeftOut? Entry, int Start, int Count, string? Reason)> _parts = [];
        private HashSet<string>? _recalled;
        private IReadOnlyList<string> _injectedOrder = [];
        private HashSet<string>? _injected;

        public void Add(LeftOut entry) => _parts.Add((entry, 0, 0, null));

        public void AddHistory(int start, int count, string reason) => _parts.Add((null, start, count, reason));

        /// <summary>Items the recall section holds are listed as recalled, whatever left them out of the window.</summary>
        public void MarkRecalled(IEnumerable<string> ids) => _recalled = ids.ToHashSet(StringComparer.Ordinal);

        /// <summary>Chunks and recalled items the injection screen blocked are listed as <see cref="LeftOutReasons.Injection"/>.</summary>
        public void MarkInjected(IReadOnlyList<string> ids) => (_injectedOrder, _injected) = (ids, ids.Count == 0 ? null : ids.ToHashSet(StringComparer.Ordinal));

        public List<LeftOut> List()
        {
            var list = new List<LeftOut>();
            foreach (var (entry, start, count, reason) in _parts)
            {
                if (entry is not null)
                {
                    list.Add(Marked(entry));
                    continue;
                }

                for (var i = start; i < start + count; i++)
                {
                    list.Add(Marked(new LeftOut(history[i].Id, reason!)));
                }
            }

            // A recalled item is in the history's left-out runs already (its reason replaced); a knowledge chunk is not.
            if (_injected is not null)
            {
                var listed = list.Select(entry => entry.Id).ToHashSet(StringComparer.Ordinal);
                list.AddRange(_injectedOrder.Where(id => !listed.Contains(id)).Select(id => new LeftOut(id, LeftOutReasons.Injection)));
            }
            return list;
        }

        private LeftOut Marked(LeftOut entry) =>
            _injected?.Contains(entry.Id) == true ? entry with { Reason = LeftOutReasons.Injection }
            : _recalled?.Contains(entry.Id) == true ? entry with { Reason = LeftOutReasons.Recalled }
            : entry;
    }

    private static int Cost(int textTokens) => textTokens + TokenCounter.MessageOverhead;

    private static NewItem Message(ConversationItem item) => item.ToNew();

    private static GatewayError TooLong(string message) => GatewayError.Invalid(message, "input", ProviderException.ContextLengthExceeded);
}
