namespace Conversations.Hosting;

/// <summary>What telemetry a process collects and where it goes, bound from <c>Conversations:Telemetry</c>.</summary>
public sealed class TelemetrySettings
{
    public const string Section = "Conversations:Telemetry";

    /// <summary>Serve metrics for a Prometheus scrape at <c>/metrics</c>.</summary>
    public bool Prometheus { get; init; } = true;

    /// <summary>
    /// The fraction of traces that start outside an HTTP request (Orleans timers, membership probes,
    /// background grain calls, storage calls of their own) that are recorded. Traces a request starts
    /// are always recorded with every span below them, in every process they reach.
    /// </summary>
    public double BackgroundTraceRatio { get; init; }

    // CaptureMessageContent, in the same section, is read by the silos' model providers (ProviderTelemetryOptions).
}
