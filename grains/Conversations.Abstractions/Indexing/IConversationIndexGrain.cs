using Orleans.Concurrency;

namespace Conversations.Indexing;

/// <summary>
/// One shard of a tenant's conversation index (<c>{tenant}/{shard}</c>, decision 0069): the conversations whose id hashes
/// to it, newest first, with their metadata. A conversation is put here when it is created or its metadata changes and
/// removed when it is deleted, never on a turn; <see cref="ConversationIndex.List"/> reads every shard and merges.
/// </summary>
public interface IConversationIndexGrain : IGrainWithStringKey
{
    Task<GatewayError?> Put(ConversationEntry entry);

    Task<GatewayError?> Remove(string conversationId);

    /// <summary>Up to <see cref="ConversationIndexQuery.Limit"/> entries after the query's cursor that match its search, newest first.</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<ConversationEntry>> Page(ConversationIndexQuery query);
}

[GenerateSerializer, Immutable, Alias("conv.ConversationEntry")]
public sealed record ConversationEntry(
    [property: Id(0)] string Id,
    [property: Id(1)] DateTimeOffset CreatedAt,
    [property: Id(2)] IReadOnlyDictionary<string, string> Metadata)
{
    /// <summary>The metadata key the portal shows as a conversation's title and searches by prefix.</summary>
    public const string TitleKey = "title";

    public string? Title => Metadata.TryGetValue(TitleKey, out var title) ? title : null;
}

/// <summary>
/// A page of the index: entries strictly after the cursor (<paramref name="AfterCreatedAt"/>, <paramref name="AfterId"/>) in
/// newest-first order, that match <paramref name="Search"/> (see <see cref="ConversationIndex.Matches"/>).
/// </summary>
[GenerateSerializer, Immutable, Alias("conv.ConversationIndexQuery")]
public sealed record ConversationIndexQuery(
    [property: Id(0)] int Limit,
    [property: Id(1)] string? Search = null,
    [property: Id(2)] DateTimeOffset? AfterCreatedAt = null,
    [property: Id(3)] string? AfterId = null)
{
    public const int MaxLimit = 100;
}

[GenerateSerializer, Immutable, Alias("conv.ConversationIndexPage")]
public sealed record ConversationIndexPage(
    [property: Id(0)] IReadOnlyList<ConversationEntry> Entries,
    [property: Id(1)] bool HasMore);
