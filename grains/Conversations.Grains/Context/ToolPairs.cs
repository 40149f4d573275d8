namespace Conversations.Grains.Context;

/// <summary>
/// A function call and its output travel together: chat formats refuse (400) an assistant message with
/// tool calls that is not followed by an output for each, and an output whose call is not before it.
/// </summary>
public static class ToolPairs
{
    /// <summary>The first output in <paramref name="input"/> that answers no call of the conversation or the input, or <c>null</c>.</summary>
    public static ConversationItem? UnknownOutput(IEnumerable<ConversationItem> history, IReadOnlyList<ConversationItem> input)
    {
        var calls = history.Concat(input).Where(item => item.Call is not null).Select(item => item.Call!.CallId).ToHashSet(StringComparer.Ordinal);
        return input.FirstOrDefault(item => item.CallId is { } callId && !calls.Contains(callId));
    }

    /// <summary>
    /// The items of <paramref name="messages"/> whose partner is missing: a call with no output after it, or
    /// an output with no call before it. A call the input itself answers is paired; a call in the input
    /// (the client replaying the model's calls) waits for outputs that come in the same input.
    /// </summary>
    public static HashSet<string> Unpaired(IReadOnlyList<ConversationItem> messages)
    {
        var unpaired = new HashSet<string>(StringComparer.Ordinal);
        var open = new Dictionary<string, string>(StringComparer.Ordinal); // call id -> item id
        foreach (var item in messages)
        {
            if (item.Call is { } call)
            {
                open[call.CallId] = item.Id;
            }
            else if (item.CallId is { } callId && !open.Remove(callId))
            {
                unpaired.Add(item.Id);
            }
        }

        unpaired.UnionWith(open.Values);
        return unpaired;
    }
}
