using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Conversations.Api.Hosting;

/// <summary>
/// What the gateway adds to a model call: from the moment the request reaches the API to the moment
/// its endpoint has written the response, less the call's time in HTTP exchanges with the model
/// deployments it tried (<see cref="Conversations.Providers.UpstreamTime"/>). Recorded as
/// <c>conversations.gateway.overhead</c> (milliseconds, by the deployment that served the call) for
/// calls answered successfully and whole: a failed call's time is the failure's (timeouts, backoff),
/// and a stream's is the model's generation. It includes retry backoff before a success, and for a
/// conversation turn everything the turn does besides the model call (embedding its input for recall,
/// building the context, storing the turn). The upstream's share also goes to the client as
/// <c>Server-Timing: upstream;dur=…</c>, so a client can subtract it from what it measured itself.
/// </summary>
public sealed class GatewayOverhead
{
    public const string MeterName = "Conversations.Gateway";
    public const string Instrument = "conversations.gateway.overhead";
    public const string DeploymentTag = "conversations.deployment";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Histogram<double> Histogram = Meter.CreateHistogram<double>(
        Instrument, "ms", "Time a model call spent in the gateway: the request's duration less its upstream HTTP exchanges.");

    private readonly long _started = Stopwatch.GetTimestamp();
    private TimeSpan? _upstream;
    private string _deployment = string.Empty;

    /// <summary>Times each request from before authentication to the end of its endpoint, and records the model calls among them.</summary>
    public static IApplicationBuilder Measure(IApplicationBuilder app) => app.Use(static async (context, next) =>
    {
        var overhead = new GatewayOverhead();
        context.Features.Set(overhead);
        await next(context);
        if (overhead._upstream is { } upstream && context.Response.StatusCode < 400
            && context.Response.ContentType?.StartsWith("text/event-stream", StringComparison.Ordinal) != true)
        {
            Histogram.Record(
                (Stopwatch.GetElapsedTime(overhead._started) - upstream).TotalMilliseconds,
                new KeyValuePair<string, object?>(DeploymentTag, overhead._deployment));
        }
    });

    /// <summary>Marks the request as a model call, with its upstream time and the deployment that served it.</summary>
    public static void Track(HttpContext context, string deployment, TimeSpan upstream)
    {
        if (context.Features.Get<GatewayOverhead>() is { } overhead)
        {
            (overhead._upstream, overhead._deployment) = (upstream, deployment);
        }
    }
}
