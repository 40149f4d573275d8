using Microsoft.Extensions.Logging;

namespace Conversations.Grains;

/// <summary>
/// The one rule for a grain's storage writes: memory never runs ahead of storage. A failed write leaves memory as
/// it was, is logged once with the grain's id, deactivates the grain when idle (the write may have landed despite
/// the error; a fresh activation re-reads the truth and its ETag) and reaches the caller as
/// <see cref="GatewayError.StorageUnavailable"/>, which the API answers with a 503 and <c>retry-after</c>.
/// </summary>
internal static partial class StateWrites
{
    /// <summary>Writes <paramref name="next"/> as the whole state, under the rule.</summary>
    public static async Task<GatewayError?> TryReplace<T>(this IPersistentState<T> state, T next, IGrainBase grain, ILogger logger) =>
        await state.TryReplace(next) is { } failure ? grain.StorageFailed(failure, logger) : null;

    /// <summary>Clears the state, under the rule (Orleans resets memory only once storage is cleared).</summary>
    public static async Task<GatewayError?> TryClear<T>(this IPersistentState<T> state, IGrainBase grain, ILogger logger)
    {
        try
        {
            await state.ClearStateAsync();
            return null;
        }
        catch (Exception exception)
        {
            return grain.StorageFailed(exception, logger);
        }
    }

    /// <summary>
    /// The rule's answer to a write that failed, once memory holds what it held before: also for a grain whose store
    /// writes several records its own way.
    /// </summary>
    public static GatewayError StorageFailed(this IGrainBase grain, Exception failure, ILogger logger)
    {
        LogStorageFailed(logger, failure, grain.GrainContext.GrainId);
        grain.DeactivateOnIdle();
        return GatewayError.StorageUnavailable;
    }

    /// <summary>
    /// Writes <paramref name="next"/> as the whole state; on failure memory keeps the previous state and the failure is
    /// returned. The bare write, for a store that answers failures itself; grains use the overload that applies the rule.
    /// </summary>
    public static async Task<Exception?> TryReplace<T>(this IPersistentState<T> state, T next)
    {
        var previous = state.State;
        state.State = next;
        try
        {
            await state.WriteStateAsync();
            return null;
        }
        catch (Exception exception)
        {
            state.State = previous;
            return exception;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Storing the state of {Grain} failed; answering storage_unavailable and deactivating")]
    private static partial void LogStorageFailed(ILogger logger, Exception exception, GrainId grain);
}
