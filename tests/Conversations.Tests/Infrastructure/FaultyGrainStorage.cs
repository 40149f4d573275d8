using Orleans.Storage;

namespace Conversations.Tests.Infrastructure;

/// <summary>
/// Grain storage over real storage whose writes and clears of one grain fail while that grain handles a call made
/// inside <see cref="Fail"/>: before they reach storage, or after they landed (an ambiguous failure: a timeout on a
/// write that happened). The mark travels in the call's request context, so no other call and no timer fails.
/// Orleans' own FaultInjectionGrainStorage fails only before the write, and whichever write of the grain comes next.
/// </summary>
public sealed class FaultyGrainStorage(IGrainStorage inner) : IGrainStorage
{
    public const string Failure = "Injected storage failure";

    private const string Mark = "tests.storage-fault";

    /// <summary>Fails the writes of <paramref name="grain"/> for calls made until the result is disposed.</summary>
    public static IDisposable Fail(GrainId grain, bool landed)
    {
        RequestContext.Set(Mark, $"{grain}|{(landed ? "landed" : "lost")}");
        return new Unmark();
    }

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ReadStateAsync(stateName, grainId, grainState);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        Apply(grainId, grainState, state => inner.WriteStateAsync(stateName, grainId, state));

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        Apply(grainId, grainState, state => inner.ClearStateAsync(stateName, grainId, state));

    private static async Task Apply<T>(GrainId grainId, IGrainState<T> grainState, Func<IGrainState<T>, Task> operation)
    {
        if (RequestContext.Get(Mark) is not string mark || !mark.StartsWith($"{grainId}|", StringComparison.Ordinal))
        {
            await operation(grainState);
            return;
        }

        if (mark.EndsWith("|landed", StringComparison.Ordinal))
        {
            // Landed through a copy: the grain never learns the new ETag, as when the answer to a write that happened is lost.
            await operation(new GrainState<T>(grainState.State, grainState.ETag) { RecordExists = grainState.RecordExists });
        }

        throw new TimeoutException(Failure);
    }

    private sealed class Unmark : IDisposable
    {
        public void Dispose() => RequestContext.Remove(Mark);
    }
}
