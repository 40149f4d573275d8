using Conversations.Tenancy;

namespace Conversations.Grains;

/// <summary>
/// A conversation's state. Replaced as a whole on every change (never mutated in place), so a failed
/// write can restore the previous value and memory never runs ahead of storage. In memory it holds the items
/// the activation has read: every item, or only the newest until the older pages are needed (<see cref="Unloaded"/>); in
/// storage its <see cref="Items"/> are only those after the sealed <see cref="Pages"/> (see <see cref="ConversationStore"/>).
/// </summary>
[GenerateSerializer, Alias("conv.ConversationState")]
public sealed record ConversationState
{
    /// <summary>Null until the conversation is created.</summary>
    [Id(0)] public string? Id { get; init; }

    [Id(1)] public DateTimeOffset CreatedAt { get; init; }

    [Id(2)] public Dictionary<string, string> Metadata { get; init; } = new(StringComparer.Ordinal);

    [Id(3)] public List<ConversationItem> Items { get; init; } = [];

    /// <summary>Recent idempotency keys and what they produced, oldest first.</summary>
    [Id(4)] public List<IdempotencyRecord> Idempotency { get; init; } = [];

    /// <summary>This conversation's context policy; a request's own policy overrides it field by field.</summary>
    [Id(5)] public Conversations.Context.ContextPolicy? Policy { get; init; }

    /// <summary>Structured state: facts the model sees in a compact section on every turn.</summary>
    [Id(6)] public Dictionary<string, string> Facts { get; init; } = new(StringComparer.Ordinal);

    /// <summary>The rolling summary of the oldest items, when a summarizer has written one.</summary>
    [Id(7)] public Conversations.Context.ConversationSummary? Summary { get; init; }

    /// <summary>The last item the fact extractor has read, when it has read any; always an item that is still there.</summary>
    [Id(8)] public string? ExtractedThroughItemId { get; init; }

    /// <summary>The sealed pages that hold the oldest items, oldest first. Kept by <see cref="ConversationStore"/> alone.</summary>
    [Id(9)] public List<ItemPageRef> Pages { get; init; } = [];

    /// <summary>Pages no longer referenced whose records are still to be cleared. Kept by <see cref="ConversationStore"/> alone.</summary>
    [Id(10)] public List<string> Unreferenced { get; init; } = [];

    /// <summary>
    /// What this conversation holds reserved against its tenant's storage caps (<see cref="ITenantStorageGrain"/>): itself,
    /// when the conversation cap was finite at its creation, and the bytes of the items added while the bytes cap was finite.
    /// Released, whole, when the conversation is deleted.
    /// </summary>
    [Id(11)] public StoredData Reserved { get; init; } = StoredData.None;

    /// <summary>
    /// How many of the oldest items <see cref="Items"/> leaves out: those of the pages the activation has not read yet
    /// (<see cref="ConversationStore.LoadAll"/>). In memory only: a stored head holds 0. A change to an older item reads them first.
    /// </summary>
    [Id(12)] public int Unloaded { get; init; }

    /// <summary>When each fact's current value was stated, and the value it replaced (<see cref="Context.FactTime"/>).</summary>
    [Id(13)] public Dictionary<string, Context.FactTime> FactTimes { get; init; } = new(StringComparer.Ordinal);

    /// <summary>With <paramref name="facts"/> for its facts, those that changed dated <paramref name="at"/>.</summary>
    public ConversationState WithFacts(Dictionary<string, string> facts, DateTimeOffset at) =>
        this with { Facts = facts, FactTimes = Context.FactTime.Stamp(Facts, facts, FactTimes, at) };

    /// <summary>Every item the conversation holds, read or not.</summary>
    public int ItemCount => Unloaded + Items.Count;

    public bool Exists => Id is not null;

    public ConversationInfo ToInfo() => new(Id!, CreatedAt, Metadata, ItemCount, Policy);

    public ConversationMemory ToMemory(int? indexedItems) => new(Facts, Summary, indexedItems, ExtractedThroughItemId);

    /// <summary>
    /// Without the item. A summary that covers it goes too (it would still carry it), to be rewritten later; the extractor's
    /// mark moves back to the item before it. Facts already taken from the item stay: a client removes them through the state.
    /// </summary>
    public ConversationState WithoutItem(string itemId)
    {
        if (Unloaded > 0)
        {
            throw new InvalidOperationException("An item is removed from a conversation whose items have all been read.");
        }

        var index = Items.FindIndex(item => item.Id == itemId);
        return this with
        {
            Items = Items.FindAll(item => item.Id != itemId),
            Reserved = Reserved - new StoredData(0, Items[index].Bytes).AtMost(Reserved),
            Summary = Summary is { } current && index < Context.ContextBuilder.Covered(Items, current) ? null : Summary,
            ExtractedThroughItemId = ExtractedThroughItemId != itemId ? ExtractedThroughItemId : index > 0 ? Items[index - 1].Id : null,
        };
    }

    /// <summary>With <paramref name="items"/> after the others, reserving their bytes when <paramref name="limits"/> caps them.</summary>
    public ConversationState Append(List<ConversationItem> items, StorageLimits limits) =>
        this with { Items = [.. Items, .. items], Reserved = Reserved + limits.Reservation(items) };

    public IdempotencyRecord? FindIdempotent(string key) => Idempotency.Find(r => r.Key == key);

    /// <summary>
    /// The outcome of a turn this key already ran, for its retry (no model call, nothing appended): the response it produced and
    /// what the model wrote, so that a response record lost with the first attempt is rebuilt exactly; or a refusal of a reused key.
    /// </summary>
    public CompletionChunk? Replay(Idempotency? idempotency, string model) =>
        idempotency is null || FindIdempotent(idempotency.Key) is not { } seen ? null
        : seen.Fingerprint != idempotency.Fingerprint || seen.ResponseId is null ? new ErrorChunk(GatewayError.IdempotencyKeyReused)
        : new FinalChunk(new CompletionResult(string.Empty, "stop", new TokenUsage(0, 0), model, ReplayOf: seen.ResponseId)
        {
            OutputItems = seen.Outputs > 0 ? Items.FindAll(item => seen.ItemIds.TakeLast(seen.Outputs).Contains(item.Id)) : null,
        });

    /// <summary>Remembers what a keyed request produced; the oldest keys are forgotten past <see cref="IdempotencyRecord.Remembered"/>.</summary>
    /// <param name="outputs">How many of the last <paramref name="itemIds"/> the model wrote (a turn's message and calls).</param>
    public ConversationState Remember(Idempotency? idempotency, string? responseId, IEnumerable<string> itemIds, int outputs = 0) => idempotency is null
        ? this
        : this with
        {
            Idempotency = [.. Idempotency.TakeLast(IdempotencyRecord.Remembered - 1), new IdempotencyRecord(idempotency.Key, idempotency.Fingerprint, responseId, [.. itemIds], outputs)],
        };
}

[GenerateSerializer, Immutable, Alias("conv.IdempotencyRecord")]
public sealed record IdempotencyRecord(
    [property: Id(0)] string Key,
    [property: Id(1)] string Fingerprint,
    [property: Id(2)] string? ResponseId,
    [property: Id(3)] List<string> ItemIds,
    [property: Id(4)] int Outputs = 0)
{
    /// <summary>
    /// Keys remembered per conversation. They ride in the head record, written with every turn, so their number costs
    /// every keyed turn (decision 0024). A retry comes before a hundred later keyed requests on the same conversation
    /// (they run one at a time), so a hundred keeps the guarantee that matters.
    /// </summary>
    public const int Remembered = 100;
}

/// <summary>A sealed page of a conversation's items: its own storage record, written once under a key never used before.</summary>
[GenerateSerializer, Immutable, Alias("conv.ItemPageRef")]
public sealed record ItemPageRef([property: Id(0)] string Key, [property: Id(1)] int Count);

/// <summary>The stored record of one sealed page.</summary>
[GenerateSerializer, Alias("conv.ItemPageRecord")]
public sealed record ItemPageRecord
{
    [Id(0)] public List<ConversationItem> Items { get; init; } = [];
}

/// <summary>The names of the grain storage providers that silos register.</summary>
public static class StorageNames
{
    public const string Conversations = "conversations";
}
