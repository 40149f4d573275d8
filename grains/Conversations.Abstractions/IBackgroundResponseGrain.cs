using Orleans.Concurrency;

namespace Conversations;

/// <summary>
/// A response created with <c>background: true</c>, keyed <c>{tenant}/{responseId}</c>: it owns the work, runs the model
/// call, and moves the stored response from <c>queued</c> through <c>in_progress</c> to one terminal status. A reminder
/// restarts the work on another silo when the one running it dies.
/// </summary>
public interface IBackgroundResponseGrain : IGrainWithStringKey
{
    /// <summary>Stores the response as <c>queued</c>, schedules the work and returns at once; a second start is refused (409).</summary>
    Task<Result<StoredResponse>> Start(BackgroundResponseWork work);

    /// <summary>Cancels the work unless it has finished; answers the response as it stands (a finished one unchanged).</summary>
    [AlwaysInterleave]
    Task<Result<StoredResponse>> Cancel();
}

/// <summary>
/// What a background response needs to run without its HTTP request: the <c>queued</c> response, and either a
/// conversation turn or a stateless call over its assembled context.
/// </summary>
[GenerateSerializer, Immutable, Alias("conv.BackgroundResponseWork")]
public sealed record BackgroundResponseWork(
    [property: Id(0)] StoredResponse Queued,
    [property: Id(1)] string OutputItemId,
    [property: Id(2)] TurnRequest? Turn,
    [property: Id(3)] CompletionRequest? Call);
