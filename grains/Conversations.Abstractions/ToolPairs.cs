namespace Conversations;

/// <summary>
/// A function call and its output travel together: chat formats refuse (400) an assistant message with
/// tool calls that is not followed by an output for each, and an output whose call is not before it.
/// </summary>
public static class ToolPairs
{
    /// <summary>
    /// Why the calls and outputs of a new <paramref name="input"/> cannot follow <paramref name="history"/>, or
    /// <c>null</c>: an output must answer a call made before it that has no output yet; a call the input sends
    /// (the client replaying a model's call) must be new and answered in the same input.
    /// </summary>
    public static GatewayError? Check(IEnumerable<ConversationItem> history, IReadOnlyList<ConversationItem> input)
    {
        var calls = new HashSet<string>(StringComparer.Ordinal);
        var answered = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in history)
        {
            Note(item, calls, answered);
        }

        for (var i = 0; i < input.Count; i++)
        {
            var item = input[i];
            var error = item.Call is { } call && calls.Contains(call.CallId) ? $"A function call with call_id {call.CallId} is already in the conversation."
                : item.Call is { } sent && !input.Skip(i + 1).Any(later => later.CallId == sent.CallId) ? $"The function call with call_id {sent.CallId} has no function_call_output after it in the input."
                : item.CallId is { } id && !calls.Contains(id) ? $"No tool call found for function call output with call_id {id}."
                : item.CallId is { } again && answered.Contains(again) ? $"The function call with call_id {again} already has an output."
                : null;
            if (error is not null)
            {
                return GatewayError.Invalid(error, "input", "invalid_value");
            }

            Note(item, calls, answered);
        }

        return null;
    }

    private static void Note(ConversationItem item, HashSet<string> calls, HashSet<string> answered)
    {
        if (item.Call is { } call)
        {
            calls.Add(call.CallId);
        }
        else if (item.CallId is { } callId)
        {
            answered.Add(callId);
        }
    }

    /// <summary>
    /// The items of <paramref name="messages"/> whose partner is missing: a call with no output after it, an
    /// output with no call before it, and any second call or output for one call id. Providers refuse all three.
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
            else if (item.CallId is { } callId && !open.Remove(callId))
            {
                unpaired.Add(item.Id);
            }
        }

        unpaired.UnionWith(open.Values);
        return unpaired;
    }
}
