using System.Diagnostics;

namespace Conversations.Providers;

/// <summary>
/// The time one model call spends in HTTP exchanges with its upstream, from sending a request to
/// receiving its response headers, summed over retries and fallbacks. Whatever else the call takes
/// is the gateway's own work, so this is what lets the gateway say what it adds to a model call
/// (<c>Server-Timing</c>, <c>conversations.gateway.overhead</c>). A routing attempt makes the call's
/// timer <see cref="Current"/>; <see cref="Handler"/>, on the provider clients' HTTP pipeline, adds to it.
/// A body read after the headers counts as the gateway's, so the figure never flatters the gateway.
/// </summary>
public sealed class UpstreamTime
{
    private static readonly AsyncLocal<UpstreamTime?> Scope = new();
    private long _ticks;
    private int _exchanges;

    /// <summary>The timer HTTP exchanges in this async flow add to; set by each routing attempt, which reverts it when it returns.</summary>
    public static UpstreamTime? Current
    {
        get => Scope.Value;
        set => Scope.Value = value;
    }

    /// <summary>The time in upstream exchanges so far; null when the call made none (an in-process model).</summary>
    public TimeSpan? Elapsed => Volatile.Read(ref _exchanges) == 0 ? null : Stopwatch.GetElapsedTime(0, Volatile.Read(ref _ticks));

    private void Add(long ticks)
    {
        Interlocked.Add(ref _ticks, ticks);
        Interlocked.Increment(ref _exchanges);
    }

    /// <summary>Times every exchange made while a call's timer is current.</summary>
    public sealed class Handler(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (Current is not { } timer)
            {
                return await base.SendAsync(request, cancellationToken);
            }

            var started = Stopwatch.GetTimestamp();
            try
            {
                return await base.SendAsync(request, cancellationToken);
            }
            finally
            {
                timer.Add(Stopwatch.GetTimestamp() - started);
            }
        }
    }
}
