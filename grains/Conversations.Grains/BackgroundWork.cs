using Conversations.Grains.Context;

namespace Conversations.Grains;

/// <summary>What one background pass did: everything, part (more to do at once), or nothing, for a reason code that is logged.</summary>
internal readonly record struct PassOutcome(string? FailureReason, bool MoreToDo)
{
    public static PassOutcome Done => default;

    public static PassOutcome More => new(null, true);

    public static PassOutcome Failed(string reason) => new(reason, false);
}

/// <summary>
/// The one mechanism for a grain's work off the client's path (a conversation's summary, fact extraction, recall indexing,
/// page clearing): each pass runs on an interleaving one-shot grain timer, one pass at a time, for the latest job scheduled.
/// A job scheduled while a pass runs gets a pass right after it; a failed pass (or one that threw) is retried after a delay
/// that doubles from <see cref="SummaryOptions.SummaryRetryDelay"/> up to <see cref="SummaryOptions.MaxRetryDelay"/>. A job
/// pending in memory is lost if the grain deactivates; the next change, or the next activation, schedules it again.
/// With <paramref name="keepAlive"/>, each pass extends the grain's lifetime, so a long job (a document's ingestion, whose
/// progress is stored) runs to its end without waiting for a call to activate the grain again.
/// </summary>
internal sealed class BackgroundWork<TJob>(
    IGrainBase grain, Func<TJob, CancellationToken, Task<PassOutcome>> pass, Action<string, int> logFailure, SummaryOptions options,
    bool keepAlive = false)
    where TJob : class
{
    private TJob? _job;
    private IGrainTimer? _timer;
    private bool _running;
    private bool _scheduledWhileRunning;
    private int _failures;

    /// <param name="after">How long the first pass waits (none by default).</param>
    public void Schedule(TJob job, TimeSpan after = default)
    {
        _job = job;
        if (_running)
        {
            _scheduledWhileRunning = true;
            return;
        }

        if (_failures > 0)
        {
            return; // failing: the pending retry runs the latest job; a turn never cuts the backoff short
        }

        Start(after);
    }

    private void Start(TimeSpan due)
    {
        _timer?.Dispose();
        _timer = grain.RegisterGrainTimer(Run, new GrainTimerCreationOptions(due, Timeout.InfiniteTimeSpan) { Interleave = true, KeepAlive = keepAlive });
    }

    private async Task Run(CancellationToken cancellationToken)
    {
        if (_running || _job is not { } job)
        {
            return;
        }

        _running = true;
        _scheduledWhileRunning = false;
        PassOutcome outcome;
        try
        {
            outcome = await pass(job, cancellationToken);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            outcome = PassOutcome.Failed(exception.GetType().Name); // the type only: provider text stays out of logs
        }
        finally
        {
            _running = false;
        }

        GatewayMetrics.BackgroundPass(typeof(TJob).Name, outcome.FailureReason is null ? outcome.MoreToDo ? "more" : "done" : "failed");
        if (outcome.FailureReason is { } reason)
        {
            _failures++;
            logFailure(reason, _failures);
            Start(RetryDelay());
        }
        else if (outcome.MoreToDo || _scheduledWhileRunning)
        {
            _failures = 0;
            Start(TimeSpan.Zero);
        }
        else
        {
            _failures = 0;
            _job = null;
        }
    }

    private TimeSpan RetryDelay()
    {
        var delay = options.SummaryRetryDelay * Math.Pow(2, Math.Min(_failures - 1, 16));
        return delay < options.MaxRetryDelay ? delay : options.MaxRetryDelay;
    }
}
