namespace Conversations;

/// <summary>
/// A function call and its output travel together: chat formats refuse (400) an assistant message with
/// tool calls that is not followed by an output for each, and an output whose call is not before it.
/// </summary>
public static class ToolPairs
{
    /// <summary>
    /// Why the calls and outputs of a new <paramref name="input"/> cannot follow <paramref name="history"/>, or
    /// <c>null</c>. An output must answer a call still awaiting one: made at the end of the history (after its last
    /// message) or earlier in the input, and not answered yet. A call the input sends (the client replaying a
    /// model's call) must be new and answered in the same input.
    /// </summary>
    public static GatewayError? Check(IEnumerable<ConversationItem> history, IReadOnlyList<ConversationItem> input)
    {
        if (!input.Any(item => item.Call is not null || item.CallId is not null))
        {
            return null; // messages may follow anything: no pass over the history
        }

        List<ConversationItem> earlier = [.. history];
        var made = earlier.Where(i => i.Call is not null).Select(i => i.Call!.CallId).ToHashSet(StringComparer.Ordinal);
        var answered = earlier.Where(i => i.CallId is not null).Select(i => i.CallId!).ToHashSet(StringComparer.Ordinal);
        var awaiting = Enumerable.Reverse(earlier).TakeWhile(i => i.Call is not null || i.CallId is not null)
            .Where(i => i.Call is not null && !answered.Contains(i.Call.CallId)).Select(i => i.Call!.CallId).ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i < input.Count; i++)
        {
            var item = input[i];
            var error = item.Call is { } call && made.Contains(call.CallId) ? $"A function call with call_id {call.CallId} is already in the conversation."
                : item.Call is { } sent && !input.Skip(i + 1).Any(later => later.CallId == sent.CallId) ? $"The function call with call_id {sent.CallId} has no function_call_output after it in the input."
                : item.CallId is { } again && answered.Contains(again) ? $"The function call with call_id {again} already has an output."
                : item.CallId is { } late && made.Contains(late) && !awaiting.Contains(late) ? $"The function call with call_id {late} no longer awaits an output: other messages came after it."
                : item.CallId is { } id && !awaiting.Contains(id) ? $"No tool call found for function call output with call_id {id}."
                : null;
            if (error is not null)
            {
                return GatewayError.Invalid(error, "input", "invalid_value");
            }

            if (item.Call is { } newCall)
            {
                made.Add(newCall.CallId);
                awaiting.Add(newCall.CallId);
            }
            else if (item.CallId is { } callId)
            {
                answered.Add(callId);
                awaiting.Remove(callId);
            }
        }

        return null;
    }

    /// <summary>The calls at the end of <paramref name="history"/> that <paramref name="input"/> leaves without an output.</summary>
    public static IEnumerable<string> LeftWaiting(IReadOnlyList<ConversationItem> history, IReadOnlyList<ConversationItem> input) =>
        Enumerable.Reverse(history).TakeWhile(i => i.Call is not null || i.CallId is not null)
            .Where(i => i.Call is { } call && !history.Any(o => o.CallId == call.CallId) && !input.Any(o => o.CallId == call.CallId))
            .Select(i => i.Call!.CallId);

    /// <summary>
    /// The items of <paramref name="messages"/> whose partner is missing: a call with no output after it before the
    /// next message, an output with no such call before it, and any second call or output for one call id. Providers
    /// refuse all of them.
    /// </summary>
    public static HashSet<string> Unpaired(IReadOnlyList<ConversationItem> messages)
    {
        var unpaired = new HashSet<string>(StringComparer.Ordinal);
        var open = new Dictionary<string, string>(StringComparer.Ordinal); // call id -> item id
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in messages)
        {
            if (item.Call is { } call)
            {
                if (!seen.Add(call.CallId))
                {
                    unpaired.Add(item.Id);
                    continue;
                }

                open[call.CallId] = item.Id;
            }
            else if (item.CallId is { } callId)
            {
                if (!open.Remove(callId))
                {
                    unpaired.Add(item.Id);
                }
            }
            else
            {
                // A message: calls still open are never answered in time.
                unpaired.UnionWith(open.Values);
                open.Clear();
            }
        }

        unpaired.UnionWith(open.Values);
        return unpaired;
    }
}
