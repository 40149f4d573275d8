using Microsoft.Extensions.Logging;

namespace Conversations.Grains;

/// <summary>
/// How a conversation activation changes its state: one writer at a time (<see cref="Enter"/>), each change a whole new
/// state written by <see cref="Persist"/>. Memory never runs ahead of storage: while a write is in flight, interleaved
/// reads see <see cref="Durable"/>, the state storage has confirmed; a failed write leaves the previous state and is
/// answered by the one storage rule every grain follows (<see cref="StateWrites"/>).
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "A SemaphoreSlim whose wait handle is never read holds no unmanaged resource.")]
internal sealed class ConversationWrites(ConversationStore store, IGrainBase grain, ILogger logger)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ConversationState? _writing;

    /// <summary>Runs after every successful write (the clearing of pages it left unreferenced).</summary>
    public Action? Written { get; set; }

    /// <summary>The state as this activation holds it: what a writer inside <see cref="Enter"/> works from.</summary>
    public ConversationState State => store.State;

    /// <summary>The state storage has confirmed: what a read that interleaves with a write sees.</summary>
    public ConversationState Durable => _writing ?? store.State;

    /// <summary>
    /// <paramref name="state"/> with every item: the pages the activation left unread are read first
    /// (<see cref="ConversationStore.LoadAll"/>); a write in flight is completed with them too. The whole state is the caller's:
    /// the activation may let go of the older items at its next write (<see cref="ConversationStore.KeepsHistory"/>).
    /// </summary>
    public async Task<ConversationState> Whole(ConversationState state)
    {
        if (state.Unloaded == 0)
        {
            return state;
        }

        var whole = await store.LoadAll(state);
        _writing = _writing is null ? null : store.Held(_writing);
        return whole;
    }

    /// <summary>Whether the activation keeps every item it reads (its turns read the whole history); see <see cref="ConversationStore.KeepsHistory"/>.</summary>
    public bool KeepsHistory { get => store.KeepsHistory; set => store.KeepsHistory = value; }

    public ValueTask<Gate> Enter(CancellationToken cancellationToken) => Gate.Enter(_gate, cancellationToken);

    /// <summary>Writes <paramref name="next"/> (inside <see cref="Enter"/>); null, or why it was not written.</summary>
    public async Task<GatewayError?> Persist(ConversationState next)
    {
        _writing = store.State;
        try
        {
            if (await store.TryReplace(next) is { } failure)
            {
                return Failed(failure);
            }

            Written?.Invoke();
            return null;
        }
        finally
        {
            _writing = null;
        }
    }

    /// <summary>Removes the conversation (inside <see cref="Enter"/>); null, or why it was not removed.</summary>
    public async Task<GatewayError?> Clear() => await store.TryClear() is { } failure ? Failed(failure) : null;

    /// <summary>The storage rule's answer (<see cref="StateWrites.StorageFailed"/>).</summary>
    public GatewayError Failed(Exception exception) => grain.StorageFailed(exception, logger);
}
