using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Conversations.Api.Hosting;

/// <summary>
/// <c>gen_ai.server.time_to_first_token</c> (OpenTelemetry's GenAI server metric, seconds): from the moment the
/// API hands a validated model call to the cluster to its first generated text, for calls that stream.
/// Tagged with <c>gen_ai.operation.name</c> and <c>gen_ai.response.model</c> (the deployment that served it).
/// </summary>
public static class ServerTimeToFirstToken
{
    public const string Instrument = "gen_ai.server.time_to_first_token";

    private static readonly Meter Meter = new(GatewayOverhead.MeterName);
    private static readonly Histogram<double> Histogram = Meter.CreateHistogram<double>(
        Instrument, "s", "Time from a model call's start in the gateway to its first generated token.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0] });

    public static void Record(long startedAt, string? deployment) => Histogram.Record(
        Stopwatch.GetElapsedTime(startedAt).TotalSeconds,
        new("gen_ai.operation.name", "chat"), new("gen_ai.response.model", deployment));
}
