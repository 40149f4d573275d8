using System.Text.Json;

namespace Conversations.Api.Endpoints;

/// <summary>
/// <c>context_management: [{"type": "compaction", "compact_threshold": N}]</c> on <c>POST /v1/responses</c> without a
/// conversation: when the context the call would send (its prompt tokens, counted as <c>input_tokens</c> counts them) is
/// above N, the context is summarized first with the rolling summary's prompt, as <c>POST /v1/responses/compact</c> does,
/// and the call sends the instructions, that summary and the current turn instead. The compaction item is the response's
/// first output item; a later context (a <c>previous_response_id</c> chain, or input that carries the item) starts at it.
/// A conversation turn compacts in its grain instead, into its rolling summary (<see cref="TurnRequest.CompactThreshold"/>).
/// </summary>
internal static class InlineCompaction
{
    /// <summary>OpenAI's smallest <c>compact_threshold</c>.</summary>
    public const int MinThreshold = 1000;

    /// <summary>The threshold when an entry names none: compaction when the context passes this many tokens.</summary>
    public const int DefaultThreshold = 200_000;

    /// <summary>The threshold of the request's compaction entry, if it has one.</summary>
    public static Result<int?> ReadThreshold(JsonElement? entries)
    {
        const string Param = "context_management";
        if (entries is not { ValueKind: not JsonValueKind.Null } list)
        {
            return (int?)null;
        }

        if (list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
        {
            return GatewayError.Invalid($"Invalid '{Param}': expected a non-empty array of entries.", Param, "invalid_type");
        }

        int? threshold = null;
        var index = 0;
        foreach (var entry in list.EnumerateArray())
        {
            var param = $"{Param}[{index++}]";
            if (entry.ValueKind != JsonValueKind.Object || !entry.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                return GatewayError.Invalid($"Missing required parameter: '{param}.type'.", $"{param}.type", "missing_required_parameter");
            }

            if (type.GetString() != CompactionItemJson.Kind)
            {
                return GatewayError.Invalid($"Invalid value for '{param}.type': only 'compaction' is supported.", $"{param}.type", "invalid_value");
            }

            var value = entry.TryGetProperty("compact_threshold", out var given) ? given : default;
            if (value.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
            {
                threshold = DefaultThreshold;
            }
            else if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var tokens) && tokens >= MinThreshold)
            {
                threshold = tokens;
            }
            else
            {
                return GatewayError.Invalid(
                    $"Invalid '{param}.compact_threshold': expected an integer of at least {MinThreshold}.", $"{param}.compact_threshold", "invalid_value");
            }
        }

        return threshold;
    }

    /// <summary>Where a model call's context starts: at its latest compaction item, which stands for everything before it.</summary>
    public static int Start(IReadOnlyList<NewItem> items)
    {
        for (var i = items.Count - 1; i >= 0; i--)
        {
            if (CompactionItemJson.Is(items[i]))
            {
                return i;
            }
        }

        return 0;
    }

    /// <summary>Where the current turn starts: its last user message (or the last item), which the call still sends whole after the summary.</summary>
    public static int TurnStart(IReadOnlyList<NewItem> items, int start)
    {
        for (var i = items.Count - 1; i > start; i--)
        {
            if (items[i].Role == Roles.User)
            {
                return i;
            }
        }

        return Math.Max(start, items.Count - 1);
    }

    /// <summary>
    /// Compacts the plan's context when it is over its threshold: one summarizer call over the context from its latest
    /// compaction on (that summary included, so summaries build on each other), the current turn included.
    /// </summary>
    public static async Task<Result<bool>> Apply(ResponsePlan plan, ApiServices api)
    {
        if (plan.CompactThreshold is not { } threshold || plan.ConversationId is not null)
        {
            return false;
        }

        var counted = await plan.CountInputTokens(api);
        if (!counted.IsSuccess || counted.Value <= threshold)
        {
            return counted.IsSuccess ? false : counted.Error;
        }

        var items = plan.ContextItems();
        var start = Start(items);
        var summary = await ResponseCompaction.Summarize(plan.Model, items.GetRange(start, items.Count - start), api);
        if (!summary.IsSuccess)
        {
            return summary.Error;
        }

        plan.Compacted(CompactionItems.Of(summary.Value.Text, summary.Value.Usage.OutputTokens, api.Clock.GetUtcNow(), plan.ResponseId), TurnStart(items, start));
        return true;
    }
}
