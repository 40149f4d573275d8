using Orleans.Concurrency;

namespace Conversations;

/// <summary>
/// One conversation, keyed <c>{tenant}/{conversationId}</c>. Holds the items and metadata and runs
/// turns one at a time. Reads interleave with a running turn, so they never wait behind a model call.
/// </summary>
public interface IConversationGrain : IGrainWithStringKey
{
    /// <summary>Creates the conversation; 409 if it already exists (or existed and was deleted).</summary>
    /// <param name="limits">The tenant's storage caps (the caller's); null for none. A refusal (429) writes nothing.</param>
    /// <param name="redact">The caller's PII policy when it stores items redacted (<see cref="Guardrails.PiiPolicy.StoreRedacted"/>).</param>
    Task<Result<ConversationInfo>> Create(
        IReadOnlyDictionary<string, string> metadata, IReadOnlyList<NewItem> items, Context.ContextPolicy? policy = null, Tenancy.StorageLimits? limits = null,
        Guardrails.PiiPolicy? redact = null);

    [AlwaysInterleave]
    Task<Result<ConversationInfo>> Get();

    /// <summary>Replaces the metadata and/or the context policy (each when given), in one write.</summary>
    Task<Result<ConversationInfo>> Update(IReadOnlyDictionary<string, string>? metadata, PolicyChange? policy);

    Task<Result<ConversationInfo>> Delete();

    /// <summary>Appends items; with an idempotency key, a repeated request returns the first one's items and appends nothing.</summary>
    /// <param name="limits">As for <see cref="Create"/>.</param>
    /// <param name="redact">As for <see cref="Create"/>.</param>
    Task<Result<IReadOnlyList<ConversationItem>>> AddItems(
        IReadOnlyList<NewItem> items, Idempotency? idempotency = null, Tenancy.StorageLimits? limits = null, Guardrails.PiiPolicy? redact = null);

    [AlwaysInterleave]
    Task<Result<ItemPage>> ListItems(ItemQuery query);

    [AlwaysInterleave]
    Task<Result<ConversationItem>> GetItem(string itemId);

    Task<Result<ConversationInfo>> DeleteItem(string itemId);

    /// <summary>
    /// Runs one turn: the stored items plus <see cref="TurnRequest.Input"/> form the context; on success
    /// the input and the model's output are appended and persisted before the final chunk is yielded.
    /// On failure or cancellation nothing is appended. The caller's tenant storage caps apply.
    /// </summary>
    IAsyncEnumerable<CompletionChunk> RunTurn(TurnRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// The prompt tokens <paramref name="request"/> would send as this conversation's next turn (its context built as
    /// <see cref="RunTurn"/> builds it, policy and tools included), without calling the model or appending anything.
    /// </summary>
    [AlwaysInterleave]
    Task<Result<int>> CountInputTokens(TurnRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// What the model would see on the next turn through <paramref name="model"/>: each section, its tokens, and what is left out
    /// and why. With <paramref name="input"/>, the turn with that input: recall and knowledge searched for it, each chunk and
    /// recalled item screened under <paramref name="injection"/>.
    /// </summary>
    [AlwaysInterleave]
    Task<Result<Context.ContextView>> PreviewContext(
        string model, int? maxOutputTokens, Context.ContextPolicy? tenantPolicy, string? input = null, Guardrails.InjectionPolicy? injection = null);

    /// <summary>The conversation's facts and its rolling summary.</summary>
    [AlwaysInterleave]
    Task<Result<ConversationMemory>> GetMemory();

    /// <summary>Merges facts: a <c>null</c> value removes its key.</summary>
    Task<Result<ConversationMemory>> UpdateFacts(IReadOnlyDictionary<string, string?> changes);
}

[GenerateSerializer, Immutable, Alias("conv.ConversationInfo")]
public sealed record ConversationInfo(
    [property: Id(0)] string Id,
    [property: Id(1)] DateTimeOffset CreatedAt,
    [property: Id(2)] IReadOnlyDictionary<string, string> Metadata,
    [property: Id(3)] int ItemCount,
    [property: Id(4)] Context.ContextPolicy? Policy = null);

/// <summary>A conversation's memory: its facts, rolling summary, indexed items, and the last item the fact extractor has read.</summary>
[GenerateSerializer, Immutable, Alias("conv.ConversationMemory")]
public sealed record ConversationMemory(
    [property: Id(0)] IReadOnlyDictionary<string, string> Facts,
    [property: Id(1)] Context.ConversationSummary? Summary,
    [property: Id(2)] int? IndexedItems,
    [property: Id(3)] string? ExtractedThroughItemId = null);

/// <summary>A new context policy for a conversation; a <c>null</c> <see cref="Policy"/> returns it to the defaults.</summary>
[GenerateSerializer, Immutable, Alias("conv.PolicyChange")]
public sealed record PolicyChange([property: Id(0)] Context.ContextPolicy? Policy);

/// <summary>
/// A turn as the API hands it to a conversation; ids are chosen by the caller. With a <see cref="Response"/> (the response
/// record, in progress), the turn finishes it and stores it beside its own write (decision 0077); without one the caller
/// stores the response, or nothing is stored. With a <see cref="CompactThreshold"/>, a context above that many prompt tokens
/// is compacted in the turn: the history summarized at once into the rolling summary (decision 0083).
/// </summary>
[GenerateSerializer, Immutable, Alias("conv.TurnRequest")]
public sealed record TurnRequest(
    [property: Id(0)] string ResponseId,
    [property: Id(1)] string OutputItemId,
    [property: Id(2)] IReadOnlyList<ConversationItem> Input,
    [property: Id(3)] string? Instructions,
    [property: Id(4)] CompletionRequest Options,
    [property: Id(5)] Idempotency? Idempotency = null,
    [property: Id(6)] Context.ContextPolicy? Policy = null,
    [property: Id(7)] StoredResponse? Response = null,
    [property: Id(8)] int? CompactThreshold = null);

/// <summary>
/// A client's <c>Idempotency-Key</c> and a fingerprint of the request body: the same key with the same
/// body replays the first outcome; with another body it is refused (422).
/// </summary>
[GenerateSerializer, Immutable, Alias("conv.Idempotency")]
public sealed record Idempotency(
    [property: Id(0)] string Key,
    [property: Id(1)] string Fingerprint);
