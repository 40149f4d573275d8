using Orleans.Concurrency;

namespace Conversations.Grains;

/// <summary>What a conversation activation holds in memory: for tests and diagnostics, never a client's answer.</summary>
public interface IConversationResidency : IGrainWithStringKey
{
    /// <summary>The items the activation holds in memory now; the others are in storage only (<see cref="ConversationState.Unloaded"/>).</summary>
    [AlwaysInterleave]
    Task<int> ResidentItems();
}

public sealed partial class ConversationGrain : IConversationResidency
{
    public Task<int> ResidentItems() => Task.FromResult(_store.Resident);
}
