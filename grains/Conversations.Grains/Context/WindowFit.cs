namespace Conversations.Grains.Context;

/// <summary>
/// <c>truncation: "auto"</c> for a call whose client owns the context (a response without a conversation): when the prompt
/// is larger than the model's window, items are dropped from the beginning, as OpenAI documents it. The leading system
/// messages (the instructions, a compaction) and the last item (the new input) are kept; a function call leaves with its
/// outputs, so no output is sent without its call. If the rest still does not fit, the call is left to be refused.
/// </summary>
public static class WindowFit
{
    /// <param name="cost">The tokens one message adds to the prompt.</param>
    /// <param name="fixedTokens">The tokens of the prompt that are not messages (framing, tools).</param>
    public static IReadOnlyList<NewItem> Fit(IReadOnlyList<NewItem> messages, int budget, Func<NewItem, int> cost, int fixedTokens)
    {
        var costs = messages.Select(cost).ToArray();
        var total = fixedTokens + costs.Sum();
        if (total <= budget)
        {
            return messages;
        }

        var first = 0;
        while (first < messages.Count && messages[first].Role == Roles.System)
        {
            first++;
        }

        var dropped = new HashSet<int>();
        var droppedCalls = new HashSet<string>(StringComparer.Ordinal);
        for (var i = first; i < messages.Count - 1 && total > budget; i++)
        {
            if (dropped.Contains(i))
            {
                continue;
            }

            if (messages[i].Call is { } call)
            {
                if (messages[^1].CallId == call.CallId)
                {
                    break; // the new input answers this call: the call stays
                }

                droppedCalls.Add(call.CallId);
            }

            Drop(i);

            for (var j = i + 1; j < messages.Count; j++)
            {
                if (messages[j].CallId is { } callId && messages[j].Call is null && droppedCalls.Contains(callId) && !dropped.Contains(j))
                {
                    Drop(j);
                }
            }
        }

        return [.. messages.Where((_, index) => !dropped.Contains(index))];

        void Drop(int index)
        {
            dropped.Add(index);
            total -= costs[index];
        }
    }
}
