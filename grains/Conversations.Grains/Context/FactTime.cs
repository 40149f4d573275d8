namespace Conversations.Grains.Context;

/// <summary>
/// When a fact's current value was stated (the last item the extractor read for it, or a client's write), and the value it
/// replaced with when that one was stated: the context shows a fact dated, and an update's older value only as superseded.
/// </summary>
[GenerateSerializer, Immutable, Alias("conv.FactTime")]
public sealed record FactTime(
    [property: Id(0)] DateTimeOffset Since,
    [property: Id(1)] string? Replaced = null,
    [property: Id(2)] DateTimeOffset? ReplacedSince = null)
{
    /// <summary>
    /// The times of <paramref name="after"/>'s facts, changed from <paramref name="before"/>'s at <paramref name="at"/>: an unchanged
    /// value keeps its time (none, for a fact held from before facts were dated), a new key is stated at <paramref name="at"/>, and a
    /// changed value is stated at <paramref name="at"/> replacing the value it had. A removed key loses its time.
    /// </summary>
    public static Dictionary<string, FactTime> Stamp(
        IReadOnlyDictionary<string, string> before, IReadOnlyDictionary<string, string> after, IReadOnlyDictionary<string, FactTime> times, DateTimeOffset at)
    {
        var stamped = new Dictionary<string, FactTime>(StringComparer.Ordinal);
        foreach (var (key, value) in after)
        {
            var old = before.GetValueOrDefault(key);
            var time = times.GetValueOrDefault(key);
            if (old == value)
            {
                if (time is not null)
                {
                    stamped[key] = time;
                }
            }
            else
            {
                stamped[key] = old is null ? new FactTime(at) : new FactTime(at, old, time?.Since);
            }
        }

        return stamped;
    }
}
