using Microsoft.Extensions.AI;

namespace Conversations.Embeddings;

/// <summary>
/// Work that embeds off any caller's path (a conversation's indexing for recall, a document's ingestion) marks its requests
/// <see cref="Background"/>. The local model, which shares the machine's cores with everything else, encodes them one text at a
/// time and only while no other request is encoding (or after waiting 50 ms for that), so a turn's question waits at most for
/// one text, not for a batch that doubles its time (decision 0091). Other generators ignore the mark.
/// </summary>
public static class EmbeddingPriority
{
    private const string Key = "conversations.embedding_priority";

    public static EmbeddingGenerationOptions Background { get; } = new() { AdditionalProperties = new() { [Key] = "background" } };

    public static bool IsBackground(EmbeddingGenerationOptions? options) =>
        options?.AdditionalProperties?.TryGetValue(Key, out var value) == true && value is "background";
}

/// <summary>Foreground encodings in flight, and a wait that background encodings take until there are none.</summary>
internal sealed class ForegroundGate(TimeSpan maxWait)
{
    private readonly Lock _lock = new();
    private int _running;
    private TaskCompletionSource? _idle;

    public IDisposable Enter()
    {
        lock (_lock)
        {
            _running++;
        }

        return new Exit(this);
    }

    /// <summary>Completes when no foreground encoding is running, or after the longest wait (so that under a steady foreground load background work still moves).</summary>
    public async Task Idle(CancellationToken cancellationToken)
    {
        Task idle;
        lock (_lock)
        {
            if (_running == 0)
            {
                return;
            }

            idle = (_idle ??= new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }

        await Task.WhenAny(idle, Task.Delay(maxWait, cancellationToken));
        cancellationToken.ThrowIfCancellationRequested();
    }

    private void Leave()
    {
        TaskCompletionSource? idle = null;
        lock (_lock)
        {
            if (--_running == 0)
            {
                (idle, _idle) = (_idle, null);
            }
        }

        idle?.SetResult();
    }

    private sealed class Exit(ForegroundGate gate) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                gate.Leave();
            }
        }
    }
}
