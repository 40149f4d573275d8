using Conversations.Indexing;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains.Indexing;

/// <summary>One shard of a tenant's conversation index; see <see cref="IConversationIndexGrain"/>.</summary>
public sealed class ConversationIndexGrain(
    [PersistentState("conversation-index", StorageNames.Conversations)] IPersistentState<ConversationIndexState> state,
    ILogger<ConversationIndexGrain> logger) : Grain, IConversationIndexGrain
{
    public Task<GatewayError?> Put(ConversationEntry entry)
    {
        var entries = new List<ConversationEntry>(state.State.Entries);
        entries.RemoveAll(e => e.Id == entry.Id);
        var at = entries.BinarySearch(entry, ConversationIndex.NewestFirst);
        entries.Insert(at >= 0 ? at : ~at, entry);
        return state.TryReplace(new ConversationIndexState { Entries = entries }, this, logger);
    }

    public Task<GatewayError?> Remove(string conversationId) =>
        state.State.Entries.Exists(e => e.Id == conversationId)
            ? state.TryReplace(new ConversationIndexState { Entries = state.State.Entries.FindAll(e => e.Id != conversationId) }, this, logger)
            : Task.FromResult<GatewayError?>(null);

    public Task<IReadOnlyList<ConversationEntry>> Page(ConversationIndexQuery query) =>
        Task.FromResult<IReadOnlyList<ConversationEntry>>(ConversationIndex.Page(state.State.Entries, query));
}

[GenerateSerializer, Alias("conv.ConversationIndexState")]
public sealed record ConversationIndexState
{
    /// <summary>Newest first (<see cref="ConversationIndex.NewestFirst"/>).</summary>
    [Id(0)] public List<ConversationEntry> Entries { get; init; } = [];
}
