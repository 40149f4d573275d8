namespace Conversations.Grains;

internal static class StateWrites
{
    /// <summary>
    /// Writes <paramref name="next"/> as the whole state. On failure memory keeps the previous state,
    /// so it never runs ahead of storage, and the failure is returned for the caller to answer.
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
}
