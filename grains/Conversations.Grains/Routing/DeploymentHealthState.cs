using Conversations.Providers;
using Conversations.Routing;
using Polly;
using Polly.CircuitBreaker;

namespace Conversations.Grains.Routing;

/// <summary>
/// One deployment's live health inside its route grain. The circuit is Polly's breaker (failure
/// ratio over a sampling window, minimum throughput, break, half-open trial), fed with the outcome
/// of every attempt any silo made; because the route grain has one activation, every silo sees the
/// same circuit. Polly decides when the circuit opens and closes; this class only adds what a
/// shared breaker needs and Polly's in-process one does not: handing out the half-open trial to a
/// single caller across the cluster, and the provider's retry-after cool-down.
/// </summary>
public enum Availability
{
    /// <summary>Closed circuit, not cooling down.</summary>
    Callable,

    /// <summary>The circuit's break is over: one call may try it.</summary>
    Trial,

    Blocked,
}

public sealed class DeploymentHealthState
{
    private const double Smoothing = 0.2;

    private readonly ResiliencePipeline<bool> _breaker;
    private readonly CircuitBreakerStateProvider _circuit = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _trialTimeout;
    private readonly TimeSpan _breakDuration;
    private DateTimeOffset _openUntil;
    private DateTimeOffset _trialUntil;
    private DateTimeOffset _coolingUntil;

    public DeploymentHealthState(CircuitSettings settings, TimeSpan trialTimeout, TimeProvider time, string deployment = "")
    {
        _time = time;
        _trialTimeout = trialTimeout;
        _breakDuration = settings.BreakDuration;
        _breaker = new ResiliencePipelineBuilder<bool> { TimeProvider = time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<bool>
            {
                FailureRatio = settings.FailureRatio,
                MinimumThroughput = settings.MinimumThroughput,
                SamplingDuration = settings.SamplingDuration,
                BreakDuration = settings.BreakDuration,
                ShouldHandle = static args => ValueTask.FromResult(args.Outcome.Result is false),
                StateProvider = _circuit,
                OnOpened = _ =>
                {
                    GatewayMetrics.CircuitOpened(deployment);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    public double? LatencyMs { get; private set; }

    public double? FirstTokenMs { get; private set; }

    public long Successes { get; private set; }

    public long Failures { get; private set; }

    public CircuitState Circuit => _circuit.CircuitState;

    public DateTimeOffset? CoolingUntil => _coolingUntil > _time.GetUtcNow() ? _coolingUntil : null;

    /// <summary>When this deployment may be called again, if not now.</summary>
    public DateTimeOffset? BlockedUntil(DateTimeOffset now)
    {
        var until = Circuit == CircuitState.Closed ? DateTimeOffset.MinValue : Max(_openUntil, _trialUntil);
        until = Max(until, _coolingUntil);
        return until > now ? until : null;
    }

    public Availability Check(DateTimeOffset now) =>
        BlockedUntil(now) is not null ? Availability.Blocked
        : Circuit == CircuitState.Closed ? Availability.Callable
        : Availability.Trial;

    /// <summary>Hands the half-open trial to one call: nobody else tries this deployment until that call reports, or the trial times out.</summary>
    public void GrantTrial(DateTimeOffset now) => _trialUntil = now + _trialTimeout;

    public void Record(AttemptReport report)
    {
        var now = _time.GetUtcNow();
        _trialUntil = DateTimeOffset.MinValue; // whatever the trial's outcome, it is over
        if (report.RetryAfter is { } wait && report.Outcome is AttemptOutcome.Throttled or AttemptOutcome.Failed)
        {
            _coolingUntil = Max(_coolingUntil, now + (wait < RouteRules.MaxCoolDown ? wait : RouteRules.MaxCoolDown));
        }

        if (report.Outcome is not (AttemptOutcome.Succeeded or AttemptOutcome.Failed))
        {
            return;
        }

        var succeeded = report.Outcome == AttemptOutcome.Succeeded;
        if (succeeded)
        {
            Successes++;
            LatencyMs = Average(LatencyMs, report.Latency);
            FirstTokenMs = Average(FirstTokenMs, report.FirstToken);
        }
        else
        {
            Failures++;
        }

        if (Circuit == CircuitState.Open && now < _openUntil)
        {
            return; // an attempt planned before the circuit opened; Polly would reject it anyway
        }

        try
        {
            _breaker.Execute(static ok => ok, succeeded);
        }
        catch (BrokenCircuitException)
        {
            // Open, or half-open with its trial already taken: the outcome does not count.
        }

        if (Circuit == CircuitState.Open && _openUntil <= now)
        {
            // Just opened, or reopened by a failed trial.
            _openUntil = now + _breakDuration;
        }
    }

    private static double? Average(double? current, TimeSpan? sample) => sample is not { } value
        ? current
        : current is { } average ? average + Smoothing * (value.TotalMilliseconds - average) : value.TotalMilliseconds;

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
