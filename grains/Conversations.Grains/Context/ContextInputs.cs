using Conversations.Context;
using Conversations.Providers;

namespace Conversations.Grains.Context;

public sealed record ContextInputs(
    string? Instructions,
    IReadOnlyDictionary<string, string> Facts,
    IReadOnlyList<ConversationItem> History,
    IReadOnlyList<ConversationItem> Input,
    int Budget,
    ContextPolicy Policy,
    ConversationSummary? Summary = null,
    IReadOnlyList<ConversationItem>? RecalledItems = null,
    IReadOnlyList<VectorMatchRef>? KnowledgeChunks = null)
{
    /// <summary>Older items relevant to the new input, best match first (from the conversation's vector index).</summary>
    public IReadOnlyList<ConversationItem> Recalled => RecalledItems ?? [];

    /// <summary>Knowledge-base chunks relevant to the new input, best match first.</summary>
    public IReadOnlyList<VectorMatchRef> Knowledge => KnowledgeChunks ?? [];

    /// <summary>Where each recalled item stands in the conversation, and the later item that supersedes it, if any.</summary>
    public IReadOnlyDictionary<string, RecallMark>? RecallMarks { get; init; }

    /// <summary>When each fact's value was stated, and the value it replaced, if any; a fact without a time is listed undated.</summary>
    public IReadOnlyDictionary<string, FactTime>? FactTimes { get; init; }

    /// <summary>Parts of the history left out before the build (<see cref="LeftOutReasons.InputModality"/>), listed with what the build leaves out.</summary>
    public IReadOnlyList<LeftOut>? Omitted { get; init; }

    /// <summary>The caller's injection policy, applied to each knowledge chunk and recalled item (<see cref="Guardrails.RetrievedScreen"/>); null screens nothing.</summary>
    public Conversations.Guardrails.InjectionPolicy? Injection { get; init; }
}

/// <summary>A recalled item's place in the conversation (0 is its first item) and the later item stating the same fact, if any.</summary>
public sealed record RecallMark(int Position, string? SupersededBy);

/// <summary>A retrieved chunk: its citation id (<c>{kb}/{doc}#{n}</c>) and text.</summary>
public sealed record VectorMatchRef(string Id, string Text, float Score);

/// <summary>
/// A built context: what a turn needs of it (the messages, the knowledge it cites, the older items no summary covers)
/// and the whole view on demand. The view lists every item left out and every item the summary covers, a pass over the
/// history that a turn does not need; like <see cref="Unsummarized"/>, it reads the history the context was built from.
/// </summary>
public sealed class BuiltContext(
    IReadOnlyList<NewItem> messages, IReadOnlyList<string>? cited, IEnumerable<ConversationItem> unsummarized, Func<ContextView> view)
{
    public IReadOnlyList<NewItem> Messages => messages;

    /// <summary>The ids of the knowledge chunks in the context, or null when it has none.</summary>
    public IReadOnlyList<string>? Cited => cited;

    /// <summary>The older items the window left out (turn limit or budget) that the context's summary does not cover, oldest first.</summary>
    public IEnumerable<ConversationItem> Unsummarized => unsummarized;

    public ContextView View => field ??= view();

    /// <summary>Whether the window took the history from its first item, nothing left out or summarized before it.</summary>
    public bool ReachedStart { get; init; }

    /// <summary>What the injection screen found in the knowledge chunks and recalled items (blocked ones are left out), or null.</summary>
    public Conversations.Guardrails.GuardrailReport? Guardrails { get; init; }
}

/// <summary>The context budget for a turn: what the largest available deployment can take beside the answer, capped by the policy.</summary>
public static class ContextBudget
{
    public static int For(IEnumerable<Conversations.Routing.RouteDeployment> deployments, int? maxOutputTokens, ContextPolicy policy) =>
        Math.Max(0, Math.Min(policy.MaxTokens ?? int.MaxValue, deployments.Max(d => d.ContextWindow - (maxOutputTokens ?? d.MaxOutputTokens))));
}
