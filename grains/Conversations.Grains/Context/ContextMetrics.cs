using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Conversations.Grains.Context;

/// <summary>
/// How long building a turn's context takes: embedding the input, recall and retrieval searches, and
/// the token-budgeted assembly (<c>conversations.context.build_time</c>, milliseconds).
/// </summary>
public static class ContextMetrics
{
    public const string MeterName = "Conversations.Context";
    public const string BuildTime = "conversations.context.build_time";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Histogram<double> BuildTimeHistogram = Meter.CreateHistogram<double>(BuildTime, "ms", "Time to build a turn's context.");

    /// <summary>Records, when disposed, the time since it was called.</summary>
    public static Timing Time() => new(Stopwatch.GetTimestamp());

    public readonly struct Timing(long startedAt) : IDisposable
    {
        public void Dispose() => BuildTimeHistogram.Record(Stopwatch.GetElapsedTime(startedAt).TotalMilliseconds);
    }
}
