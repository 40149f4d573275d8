using System.Diagnostics;
using OpenTelemetry.Trace;

namespace Conversations.Hosting;

/// <summary>
/// Decides whether a trace that starts in this process is recorded: always when an HTTP request starts
/// it, and at <see cref="TelemetrySettings.BackgroundTraceRatio"/> otherwise (by trace id, so every process
/// decides alike). A span with a parent follows its parent's decision, which Orleans carries across
/// grain calls: a request's grain calls, storage calls and model calls are recorded with it, and the
/// silos' own timers and probes, which start most traces of an idle cluster, are not.
/// </summary>
public sealed class RequestTraceSampler : Sampler
{
    /// <summary>The operation name of ASP.NET Core's span for an incoming request.</summary>
    public const string RequestOperation = "Microsoft.AspNetCore.Hosting.HttpRequestIn";

    private readonly Sampler _background;

    private RequestTraceSampler(double backgroundRatio)
    {
        _background = backgroundRatio >= 1 ? new AlwaysOnSampler()
            : backgroundRatio <= 0 ? new AlwaysOffSampler()
            : new TraceIdRatioBasedSampler(backgroundRatio);
        Description = $"{nameof(RequestTraceSampler)}{{{backgroundRatio}}}";
    }

    /// <summary>The sampler a process uses: parents decide for their children, this for roots.</summary>
    public static Sampler Create(double backgroundRatio) => new ParentBasedSampler(new RequestTraceSampler(backgroundRatio));

    public override SamplingResult ShouldSample(in SamplingParameters samplingParameters) =>
        samplingParameters.Kind == ActivityKind.Server && samplingParameters.Name == RequestOperation
            ? new SamplingResult(SamplingDecision.RecordAndSample)
            : _background.ShouldSample(samplingParameters);
}
