using Conversations.Grains.Routing;
using Conversations.Routing;
using Conversations.Tests.Infrastructure;
using Polly.CircuitBreaker;

namespace Conversations.Tests.Routing;

/// <summary>A deployment's circuit (Polly's breaker) and cool-down, on a clock the test controls.</summary>
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class DeploymentHealthTests
{
    private static readonly CircuitSettings Circuit = new()
    {
        FailureRatio = 1, MinimumThroughput = 3, SamplingDuration = TimeSpan.FromSeconds(30), BreakDuration = TimeSpan.FromSeconds(10),
    };

    private readonly ManualClock _clock = new(new DateTimeOffset(2026, 11, 26, 10, 0, 0, TimeSpan.Zero));

    [Fact]
    public void The_circuit_opens_after_the_configured_failures_and_refuses_calls_for_the_break()
    {
        var health = new DeploymentHealthState(Circuit, TimeSpan.FromSeconds(5), _clock);

        Fail(health, 2);
        var closedAfterTwo = health.Circuit;
        Fail(health, 1);

        Assert.Equal(CircuitState.Closed, closedAfterTwo);
        Assert.Equal(CircuitState.Open, health.Circuit);
        Assert.Equal(Availability.Blocked, health.Check(_clock.Now));
        Assert.Equal(_clock.Now + Circuit.BreakDuration, health.BlockedUntil(_clock.Now));
    }

    [Fact]
    public void After_the_break_exactly_one_trial_call_is_allowed_and_its_success_closes_the_circuit()
    {
        var health = new DeploymentHealthState(Circuit, TimeSpan.FromSeconds(5), _clock);
        Fail(health, 3);
        _clock.Advance(Circuit.BreakDuration);

        var trial = health.Check(_clock.Now);
        health.GrantTrial(_clock.Now);
        var second = health.Check(_clock.Now);
        health.Record(new AttemptReport("d", AttemptOutcome.Succeeded, TimeSpan.FromMilliseconds(80)));

        Assert.Equal(Availability.Trial, trial);
        Assert.Equal(Availability.Blocked, second);
        Assert.Equal(CircuitState.Closed, health.Circuit);
        Assert.Equal(Availability.Callable, health.Check(_clock.Now));
    }

    [Fact]
    public void A_failed_trial_opens_the_circuit_for_another_break()
    {
        var health = new DeploymentHealthState(Circuit, TimeSpan.FromSeconds(5), _clock);
        Fail(health, 3);
        _clock.Advance(Circuit.BreakDuration);

        health.GrantTrial(_clock.Now);
        Fail(health, 1);

        Assert.Equal(CircuitState.Open, health.Circuit);
        Assert.Equal(Availability.Blocked, health.Check(_clock.Now));
        _clock.Advance(Circuit.BreakDuration);
        Assert.Equal(Availability.Trial, health.Check(_clock.Now));
    }

    [Fact]
    public void A_trial_that_says_nothing_about_health_hands_the_trial_to_the_next_call_at_once()
    {
        var health = new DeploymentHealthState(Circuit, TimeSpan.FromSeconds(5), _clock);
        Fail(health, 3);
        _clock.Advance(Circuit.BreakDuration);

        health.GrantTrial(_clock.Now);
        health.Record(new AttemptReport("d", AttemptOutcome.Rejected));

        Assert.Equal(Availability.Trial, health.Check(_clock.Now));
    }

    [Fact]
    public void Throttling_cools_the_deployment_for_its_retry_after_without_charging_the_circuit()
    {
        var health = new DeploymentHealthState(Circuit, TimeSpan.FromSeconds(5), _clock);

        for (var i = 0; i < 5; i++)
        {
            health.Record(new AttemptReport("d", AttemptOutcome.Throttled, RetryAfter: TimeSpan.FromSeconds(20)));
        }

        Assert.Equal(CircuitState.Closed, health.Circuit);
        Assert.Equal(Availability.Blocked, health.Check(_clock.Now));
        _clock.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(Availability.Callable, health.Check(_clock.Now));
    }

    [Fact]
    public void Refused_requests_say_nothing_about_health()
    {
        var health = new DeploymentHealthState(Circuit, TimeSpan.FromSeconds(5), _clock);

        for (var i = 0; i < 10; i++)
        {
            health.Record(new AttemptReport("d", AttemptOutcome.Rejected));
        }

        Assert.Equal(CircuitState.Closed, health.Circuit);
        Assert.Equal(0, health.Failures);
    }

    [Fact]
    public void Latency_is_a_moving_average_of_successful_attempts()
    {
        var health = new DeploymentHealthState(Circuit, TimeSpan.FromSeconds(5), _clock);

        health.Record(new AttemptReport("d", AttemptOutcome.Succeeded, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(20)));
        health.Record(new AttemptReport("d", AttemptOutcome.Succeeded, TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(40)));

        Assert.Equal(120, health.LatencyMs!.Value, precision: 6); // 100 + 0.2 × (200 − 100)
        Assert.Equal(24, health.FirstTokenMs!.Value, precision: 6);
        Assert.Equal(2, health.Successes);
    }

    private static void Fail(DeploymentHealthState health, int times)
    {
        for (var i = 0; i < times; i++)
        {
            health.Record(new AttemptReport("d", AttemptOutcome.Failed));
        }
    }
}
