namespace Conversations.Context;

/// <summary>
/// How much of a conversation the model sees. Set per conversation and per request; unset fields fall
/// through (request, then conversation, then the defaults). The budget is never more than the route's
/// largest context window minus the output reserved for the answer.
/// </summary>
/// <para>
/// With <see cref="RecallTopK"/> above 0, every item is embedded (locally) and indexed in the
/// background, and each turn recalls up to that many older items most similar to the new input
/// (at least <see cref="RecallMinScore"/>), outside the window, within <see cref="RecallTokens"/>.
/// </para>
/// <para>
/// With <see cref="KnowledgeBases"/>, each turn retrieves up to <see cref="KnowledgeTopK"/> chunks of
/// those knowledge bases most similar to the new input (at least <see cref="KnowledgeMinScore"/>),
/// within <see cref="KnowledgeTokens"/>, each with its source id; the response cites the ones used.
/// </para>
/// <para>
/// With a <see cref="Summarizer"/> (a model alias, typically a cheap one), turns that have left the
/// window are summarized in the background once more than <see cref="SummarizeAfterTokens"/> of them
/// are unsummarized; the summary takes their place in the context, within <see cref="SummaryTokens"/>.
/// </para>
/// <para>
/// With an <see cref="Extractor"/> (a model alias), after each turn the items not yet read are sent
/// in the background to that model, which answers the changes to the conversation's facts as one JSON
/// object; they are merged into the facts within <see cref="Facts"/>' limits.
/// </para>
[GenerateSerializer, Immutable, Alias("conv.ContextPolicy")]
public sealed record ContextPolicy(
    [property: Id(0)] int? MaxTokens = null,
    [property: Id(1)] int? WindowTurns = null,
    [property: Id(2)] int? StateTokens = null,
    [property: Id(3)] bool? Truncation = null,
    [property: Id(4)] string? Summarizer = null,
    [property: Id(5)] int? SummaryTokens = null,
    [property: Id(6)] int? SummarizeAfterTokens = null,
    [property: Id(7)] int? RecallTopK = null,
    [property: Id(8)] int? RecallTokens = null,
    [property: Id(9)] float? RecallMinScore = null,
    [property: Id(10)] IReadOnlyList<string>? KnowledgeBases = null,
    [property: Id(11)] int? KnowledgeTopK = null,
    [property: Id(12)] int? KnowledgeTokens = null,
    [property: Id(13)] float? KnowledgeMinScore = null,
    [property: Id(14)] string? Extractor = null,
    [property: Id(15)] string? RetrievalMode = null,
    [property: Id(16)] string? RecallSuperseded = null)
{
    public static ContextPolicy Default { get; } = new(
        Truncation: true, StateTokens: 1_000, SummaryTokens: 500, SummarizeAfterTokens: 1_000, RecallTopK: 0, RecallTokens: 500, RecallMinScore: 0.2f,
        KnowledgeBases: [], KnowledgeTopK: 4, KnowledgeTokens: 1_000, KnowledgeMinScore: 0.3f,
        RetrievalMode: RetrievalModes.Hybrid, RecallSuperseded: SupersededPolicies.Mark);

    /// <summary>Whether recall and retrieval fuse a lexical (BM25) ranking of the input's words with the embeddings' (<see cref="RetrievalModes"/>).</summary>
    public bool Hybrid => RetrievalMode != RetrievalModes.Dense;

    public bool Retrieves => KnowledgeBases is { Count: > 0 } && KnowledgeTopK is > 0;

    /// <summary>Whether older turns are embedded and recalled by relevance to the new input.</summary>
    public bool Recalls => RecallTopK is > 0;

    /// <summary>The policy a turn runs under: the request's over the conversation's over the tenant's over the defaults.</summary>
    public static ContextPolicy Layered(ContextPolicy? request, ContextPolicy? conversation, ContextPolicy? tenant) =>
        (request ?? new ContextPolicy()).Over(conversation).Over(tenant).Over(Default);

    /// <summary>This policy's fields where set, <paramref name="fallback"/>'s otherwise.</summary>
    public ContextPolicy Over(ContextPolicy? fallback) => fallback is null ? this : new(
        MaxTokens ?? fallback.MaxTokens,
        WindowTurns ?? fallback.WindowTurns,
        StateTokens ?? fallback.StateTokens,
        Truncation ?? fallback.Truncation,
        Summarizer ?? fallback.Summarizer,
        SummaryTokens ?? fallback.SummaryTokens,
        SummarizeAfterTokens ?? fallback.SummarizeAfterTokens,
        RecallTopK ?? fallback.RecallTopK,
        RecallTokens ?? fallback.RecallTokens,
        RecallMinScore ?? fallback.RecallMinScore,
        KnowledgeBases ?? fallback.KnowledgeBases,
        KnowledgeTopK ?? fallback.KnowledgeTopK,
        KnowledgeTokens ?? fallback.KnowledgeTokens,
        KnowledgeMinScore ?? fallback.KnowledgeMinScore,
        Extractor ?? fallback.Extractor,
        RetrievalMode ?? fallback.RetrievalMode,
        RecallSuperseded ?? fallback.RecallSuperseded);
}

/// <summary>How recall and knowledge retrieval rank what they find (<see cref="ContextPolicy.RetrievalMode"/>).</summary>
public static class RetrievalModes
{
    /// <summary>Embedding similarity fused with BM25 over the records' words (reciprocal rank fusion): exact tokens find their records.</summary>
    public const string Hybrid = "hybrid";

    /// <summary>Embedding similarity alone.</summary>
    public const string Dense = "dense";

    public static bool IsValid(string mode) => mode is Hybrid or Dense;
}

/// <summary>
/// What recall does with an older statement of the same fact as a later one (<see cref="ContextPolicy.RecallSuperseded"/>):
/// two recalled items that say nearly the same thing are taken as two statements of one fact, and the later one wins; a fact the
/// extractor or a client changed keeps the value it replaced, shown by the same policy (decision 0049).
/// </summary>
public static class SupersededPolicies
{
    /// <summary>The older statement is shown, dated and marked as superseded by a later message.</summary>
    public const string Mark = "mark";

    /// <summary>The older statement is left out of the recall section.</summary>
    public const string Drop = "drop";

    public static bool IsValid(string policy) => policy is Mark or Drop;
}

/// <summary>A rolling summary of a conversation's oldest items, up to and including <see cref="ThroughItemId"/>.</summary>
[GenerateSerializer, Immutable, Alias("conv.ConversationSummary")]
public sealed record ConversationSummary(
    [property: Id(0)] string Text,
    [property: Id(1)] string ThroughItemId,
    [property: Id(2)] int Items,
    [property: Id(3)] DateTimeOffset UpdatedAt,
    [property: Id(4)] string Model);

/// <summary>What the model sees on a turn, section by section, and what it does not see and why.</summary>
[GenerateSerializer, Immutable, Alias("conv.ContextView")]
public sealed record ContextView(
    [property: Id(0)] int BudgetTokens,
    [property: Id(1)] int TotalTokens,
    [property: Id(2)] IReadOnlyList<ContextSection> Sections,
    [property: Id(3)] IReadOnlyList<LeftOut> LeftOut);

/// <summary>One part of the context: instructions, state, the recent turns (the window), or the new input.</summary>
[GenerateSerializer, Immutable, Alias("conv.ContextSection")]
public sealed record ContextSection(
    [property: Id(0)] string Name,
    [property: Id(1)] int Tokens,
    [property: Id(2)] IReadOnlyList<string> ItemIds,
    [property: Id(3)] int Messages);

/// <summary>An item or fact the model does not see on this turn, and why.</summary>
[GenerateSerializer, Immutable, Alias("conv.LeftOut")]
public sealed record LeftOut(
    [property: Id(0)] string Id,
    [property: Id(1)] string Reason);

/// <summary>Limits on a conversation's structured state.</summary>
public static partial class Facts
{
    public const int MaxCount = 100;
    public const int MaxKeyLength = 64;
    public const int MaxValueLength = 2_000;

    /// <summary>1 to <see cref="MaxKeyLength"/> letters, digits, '.', '_' or '-'.</summary>
    public static bool IsValidKey(string key) => KeyPattern().IsMatch(key);

    /// <summary><paramref name="facts"/> with <paramref name="changes"/> applied (a null value removes a fact); null past <see cref="MaxCount"/>.</summary>
    public static Dictionary<string, string>? Apply(IReadOnlyDictionary<string, string> facts, IReadOnlyDictionary<string, string?> changes)
    {
        var changed = new Dictionary<string, string>(facts, StringComparer.Ordinal);
        foreach (var (key, value) in changes)
        {
            if (value is null)
            {
                changed.Remove(key);
            }
            else
            {
                changed[key] = value;
            }
        }

        return changed.Count <= MaxCount ? changed : null;
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9._-]{1,64}$", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex KeyPattern();
}

public static class ContextSections
{
    public const string Instructions = "instructions";
    public const string State = "state";
    public const string Summary = "summary";
    public const string Recall = "recall";
    public const string Knowledge = "knowledge";
    public const string Window = "window";
    public const string Input = "input";
}

public static class LeftOutReasons
{
    /// <summary>Older than the turns that fit the token budget.</summary>
    public const string TokenBudget = "token_budget";

    /// <summary>Older than the most recent <see cref="ContextPolicy.WindowTurns"/> turns.</summary>
    public const string TurnLimit = "turn_limit";

    /// <summary>A fact that did not fit the state section's allowance.</summary>
    public const string StateAllowance = "state_allowance";

    /// <summary>Covered by the conversation's summary, which the model sees instead.</summary>
    public const string Summarized = "summarized";

    /// <summary>Outside the window, but recalled as relevant to the new input: the model sees it in the recall section.</summary>
    public const string Recalled = "recalled";

    /// <summary>A function call whose output is not in the context, or an output whose call is not: sent alone, a provider would refuse the request.</summary>
    public const string UnpairedToolCall = "unpaired_tool_call";

    /// <summary>
    /// An image, file or audio part (listed as <c>{item id}#{part index}</c>) of a kind one of the route's deployments does not
    /// take: the item's text is sent, the part is not.
    /// </summary>
    public const string InputModality = "input_modality";

    /// <summary>
    /// A knowledge chunk (listed by its citation id, <c>{kb}/{doc}#{n}</c>) or recalled item that the tenant's injection policy,
    /// set to <c>block</c>, found an injection attempt in: the rest of the context is sent without it.
    /// </summary>
    public const string Injection = "injection";
}
