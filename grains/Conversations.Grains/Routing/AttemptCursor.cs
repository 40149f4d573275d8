using Conversations.Routing;

namespace Conversations.Grains.Routing;

/// <summary>
/// Where one call stands in its route plan: which deployment the next attempt goes to and after
/// what delay. Polly's retry strategy asks it whether to go on (<see cref="Advance"/>) and how long
/// to wait (<see cref="NextDelay"/>; <c>null</c> lets Polly apply its jittered exponential backoff).
/// </summary>
internal sealed class AttemptCursor(RoutePlan plan)
{
    private int _index;
    private int _triesHere;

    public RouteDeployment Deployment => plan.Deployments[_index];

    /// <summary>The deployment of the latest attempt (the cursor may already point at the next one).</summary>
    public RouteDeployment LastTried { get; private set; } = plan.Deployments[0];

    public int Attempts { get; private set; }

    public TimeSpan? NextDelay { get; private set; }

    public void Begin()
    {
        LastTried = Deployment;
        Attempts++;
        _triesHere++;
    }

    /// <summary>Moves to the next attempt after <paramref name="failure"/>; false when the call must give up.</summary>
    public bool Advance(AttemptFailure failure)
    {
        if (failure.Kind == FailureKind.Final)
        {
            return false;
        }

        if (failure.Kind == FailureKind.ContextLength)
        {
            // Only a deployment with a larger window can help.
            var window = Deployment.ContextWindow;
            return MoveTo(IndexAfter(_index, d => d.ContextWindow > window));
        }

        var mayRetryHere = failure.Kind != FailureKind.Elsewhere
            && _triesHere <= plan.Config.Retry.MaxRetriesPerDeployment
            && (failure.RetryAfter is null || failure.RetryAfter <= plan.Config.Retry.MaxDelay);
        if (failure.Kind is FailureKind.TryElsewhere or FailureKind.Elsewhere || !mayRetryHere)
        {
            // Throttled, timed out or refused here: another deployment first, this one again only if none is left.
            if (MoveTo(IndexAfter(_index, _ => true)))
            {
                return true;
            }
        }

        if (!mayRetryHere)
        {
            return false;
        }

        NextDelay = failure.RetryAfter;
        return true;
    }

    private int IndexAfter(int index, Func<RouteDeployment, bool> suits)
    {
        for (var next = index + 1; next < plan.Deployments.Count; next++)
        {
            if (suits(plan.Deployments[next]))
            {
                return next;
            }
        }

        return -1;
    }

    private bool MoveTo(int index)
    {
        if (index < 0)
        {
            return false;
        }

        _index = index;
        _triesHere = 0;
        NextDelay = TimeSpan.Zero;
        return true;
    }
}

internal enum FailureKind
{
    /// <summary>Give up: not worth another attempt anywhere (a client error, the total timeout).</summary>
    Final,

    /// <summary>Transient (5xx, connection): retry here with backoff, then fall back.</summary>
    Transient,

    /// <summary>Throttled, timed out before the first token, or refused our credential: fall back at once.</summary>
    TryElsewhere,

    /// <summary>Only another deployment can help (our credential was refused here): fall back, never retry here.</summary>
    Elsewhere,

    /// <summary>The prompt did not fit: fall back to a deployment with a larger context window.</summary>
    ContextLength,
}

/// <summary>Why an attempt failed: what the client sees if it was the last, how the route grain should count it, and what to try next.</summary>
internal sealed record AttemptFailure(GatewayError Error, FailureKind Kind, AttemptOutcome ReportAs, TimeSpan? RetryAfter = null)
{
    /// <summary>The status the provider answered with, when it answered at all (the client may see another, e.g. 502 for a refused credential).</summary>
    public int? UpstreamStatus { get; init; }
}
