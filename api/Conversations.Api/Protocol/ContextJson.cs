using Conversations.Context;

namespace Conversations.Api;

/// <summary>
/// A context policy, on a conversation (<c>context_policy</c>) or a Responses request. Unset fields
/// fall through: request, then conversation, then defaults. <c>truncation</c> is OpenAI's: <c>auto</c>
/// keeps the most recent turns that fit (the default here), <c>disabled</c> sends the whole history
/// or refuses with <c>context_length_exceeded</c>.
/// </summary>
public sealed record ContextPolicyJson(
    int? MaxTokens = null,
    int? WindowTurns = null,
    int? StateTokens = null,
    string? Truncation = null,
    string? Summarizer = null,
    int? SummaryTokens = null,
    int? SummarizeAfterTokens = null,
    int? RecallTopK = null,
    int? RecallTokens = null,
    float? RecallMinScore = null,
    List<string>? KnowledgeBases = null,
    int? KnowledgeTopK = null,
    int? KnowledgeTokens = null,
    float? KnowledgeMinScore = null,
    string? Extractor = null,
    string? RetrievalMode = null,
    string? RecallSuperseded = null)
{
    public const int MaxKnowledgeBases = 10;

    public Result<ContextPolicy> ToPolicy(string param)
    {
        if (MaxTokens is < 1 or > 10_000_000 || WindowTurns is < 1 or > 100_000 || StateTokens is < 0 or > 1_000_000
            || SummaryTokens is < 16 or > 100_000 || SummarizeAfterTokens is < 0 or > 10_000_000 || Summarizer is { Length: 0 or > 128 } || Extractor is { Length: 0 or > 128 }
            || RecallTopK is < 0 or > 50 || RecallTokens is < 0 or > 100_000 || RecallMinScore is < -1 or > 1 || (RecallMinScore is { } score && float.IsNaN(score))
            || KnowledgeTopK is < 0 or > 50 || KnowledgeTokens is < 0 or > 100_000 || KnowledgeMinScore is < -1 or > 1 || (KnowledgeMinScore is { } k && float.IsNaN(k))
            || (RetrievalMode is { } mode && !RetrievalModes.IsValid(mode)) || (RecallSuperseded is { } superseded && !SupersededPolicies.IsValid(superseded))
            || KnowledgeBases is { Count: > MaxKnowledgeBases } || KnowledgeBases?.Any(kb => !Ids.IsValid(kb, Ids.KnowledgeBase)) == true)
        {
            return GatewayError.Invalid(
                $"Invalid '{param}': max_tokens is 1 to 10000000, window_turns 1 to 100000, state_tokens 0 to 1000000, "
                + "summary_tokens 16 to 100000, summarize_after_tokens 0 to 10000000, summarizer and extractor model names, "
                + "recall_top_k 0 to 50, recall_tokens 0 to 100000, recall_min_score -1 to 1, knowledge_top_k 0 to 50, knowledge_tokens 0 to 100000, "
                + $"knowledge_min_score -1 to 1, knowledge_bases up to {MaxKnowledgeBases} 'kb_' ids, retrieval_mode 'hybrid' or 'dense', "
                + "recall_superseded 'mark' or 'drop'.", param, "invalid_value");
        }

        return ParseTruncation(Truncation, $"{param}.truncation") is { IsSuccess: false } invalid
            ? invalid.Error
            : new ContextPolicy(MaxTokens, WindowTurns, StateTokens, ParseTruncation(Truncation, param).Value, Summarizer, SummaryTokens, SummarizeAfterTokens,
                RecallTopK, RecallTokens, RecallMinScore, KnowledgeBases?.Distinct(StringComparer.Ordinal).ToList(), KnowledgeTopK, KnowledgeTokens, KnowledgeMinScore, Extractor,
                RetrievalMode, RecallSuperseded);
    }

    public static Result<bool?> ParseTruncation(string? truncation, string param) => truncation switch
    {
        null => (bool?)null,
        "auto" => true,
        "disabled" => false,
        _ => GatewayError.Invalid($"Invalid '{param}': expected 'auto' or 'disabled'.", param, "invalid_value"),
    };

    public static ContextPolicyJson? From(ContextPolicy? policy) => policy is null ? null : new(
        policy.MaxTokens, policy.WindowTurns, policy.StateTokens, policy.Truncation switch { true => "auto", false => "disabled", null => null },
        policy.Summarizer, policy.SummaryTokens, policy.SummarizeAfterTokens, policy.RecallTopK, policy.RecallTokens, policy.RecallMinScore,
        policy.KnowledgeBases is null ? null : [.. policy.KnowledgeBases], policy.KnowledgeTopK, policy.KnowledgeTokens, policy.KnowledgeMinScore, policy.Extractor,
        policy.RetrievalMode, policy.RecallSuperseded);
}

/// <summary>What the model would see on a conversation's next turn (<c>GET /v1/conversations/{id}/context</c>).</summary>
public sealed record ContextViewJson(string ConversationId, string Model, int BudgetTokens, int TotalTokens, IReadOnlyList<ContextSectionJson> Sections, IReadOnlyList<LeftOutJson> LeftOut)
{
    public string Object => "conversation.context";

    public static ContextViewJson From(string conversationId, string model, ContextView view) => new(
        conversationId, model, view.BudgetTokens, view.TotalTokens,
        [.. view.Sections.Select(s => new ContextSectionJson(s.Name, s.Tokens, s.Messages, s.ItemIds))],
        [.. view.LeftOut.Select(l => new LeftOutJson(l.Id, l.Reason))]);
}

public sealed record ContextSectionJson(string Name, int Tokens, int Messages, IReadOnlyList<string> ItemIds);

public sealed record LeftOutJson(string Id, string Reason);

/// <summary>
/// A conversation's structured state: facts the model sees in a compact section on every turn, the rolling summary, and
/// the last item the fact extractor has read (<c>extracted_through_item_id</c>, when an extractor has run).
/// </summary>
public sealed record ConversationStateJson(string ConversationId, IReadOnlyDictionary<string, string> Facts, SummaryJson? Summary, int? IndexedItems, string? ExtractedThroughItemId)
{
    public string Object => "conversation.state";

    public static ConversationStateJson From(string conversationId, ConversationMemory memory) => new(
        conversationId, memory.Facts,
        memory.Summary is { } s ? new SummaryJson(s.Text, s.ThroughItemId, s.Items, s.UpdatedAt.ToUnixTimeSeconds(), s.Model) : null,
        memory.IndexedItems, memory.ExtractedThroughItemId);
}

/// <summary>The rolling summary: it covers the conversation's first <c>items</c> items, through <c>through_item_id</c>.</summary>
public sealed record SummaryJson(string Text, string ThroughItemId, int Items, long UpdatedAt, string Model);

/// <summary>Facts to set; a <c>null</c> value removes the key.</summary>
public sealed record StateUpdateJson(Dictionary<string, string?>? Facts);
