using Conversations.Tests.Infrastructure;
using Conversations.Grains.Routing;
using Conversations.Routing;

namespace Conversations.Tests.Routing;

/// <summary>
/// The silo-local table of steady routes plans like the route grain, and stands aside while a failure report
/// from this silo is on its way to the grain, so calls made meanwhile queue behind the report at the grain.
/// A route lent by a grain elsewhere is planned from until its lease ends, is revoked, or this silo reports a failure.
/// </summary>
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class SteadyRoutesTests
{
    private const string Key = "tenant/assistant";
    private static readonly PlanRequest Request = new(null, 0, null, Streaming: false);

    [Fact]
    public async Task Calls_ask_the_grain_while_any_failure_report_is_on_its_way()
    {
        var table = new SteadyRoutes();
        table.Publish(Key, Steady());
        var (first, second) = (new TaskCompletionSource(), new TaskCompletionSource());

        var planned = table.Plan(Key, Request);
        var firstReport = table.Report(Key, () => first.Task);
        var secondReport = table.Report(Key, () => second.Task);
        var whileBothPending = table.Plan(Key, Request);
        first.SetResult();
        await firstReport;
        var whileOnePending = table.Plan(Key, Request);
        second.SetResult();
        await secondReport;
        var afterBoth = table.Plan(Key, Request);

        Assert.Equal(["first", "second"], planned?.Value?.Deployments.Select(d => d.Name));
        Assert.Null(whileBothPending);
        Assert.Null(whileOnePending);
        Assert.NotNull(afterBoth);
    }

    [Fact]
    public async Task A_report_that_fails_to_arrive_does_not_keep_the_table_aside()
    {
        var table = new SteadyRoutes();
        table.Publish(Key, Steady());

        await Assert.ThrowsAsync<TimeoutException>(() => table.Report(Key, () => Task.FromException(new TimeoutException())));

        Assert.NotNull(table.Plan(Key, Request));
    }

    [Fact]
    public void A_withdrawn_route_is_planned_by_the_grain_and_a_request_that_fits_nowhere_is_refused_like_the_grain_does()
    {
        var table = new SteadyRoutes();
        table.Publish(Key, Steady());

        var tooLong = table.Plan(Key, new PlanRequest(null, 9_000, 2_000, Streaming: false));
        table.Publish(Key, null);

        Assert.Equal(("context_length_exceeded", 400), (tooLong?.Error?.Code, tooLong?.Error?.Status));
        Assert.Null(table.Plan(Key, Request));
        Assert.False(table.Holds(Key));
    }

    [Fact]
    public void A_lent_route_is_planned_here_until_its_lease_ends()
    {
        var (lasting, ended) = (new SteadyRoutes(), new SteadyRoutes());

        lasting.Lend(Key, Leased(TimeSpan.FromHours(1)), lasting.Ask(Key));
        ended.Lend(Key, Leased(TimeSpan.Zero), ended.Ask(Key));

        Assert.Equal(3, lasting.Plan(Key, Request)?.Value?.Version);
        Assert.Equal(1, lasting.PlannedOnLease);
        Assert.True(lasting.Leases(Key));
        Assert.False(lasting.Holds(Key)); // lent, not published by a grain active here
        Assert.Null(ended.Plan(Key, Request));
        Assert.Equal(0, ended.PlannedOnLease);
    }

    [Fact]
    public async Task A_revocation_or_a_failure_report_from_this_silo_ends_a_lease_at_once_and_leaves_a_published_route()
    {
        var (revoked, reported, published) = (new SteadyRoutes(), new SteadyRoutes(), new SteadyRoutes());
        revoked.Lend(Key, Leased(TimeSpan.FromHours(1)), revoked.Ask(Key));
        reported.Lend(Key, Leased(TimeSpan.FromHours(1)), reported.Ask(Key));
        published.Publish(Key, Steady());

        await revoked.Revoke(Key);
        await reported.Report(Key, () => Task.CompletedTask);
        await published.Revoke(Key);

        Assert.Null(revoked.Plan(Key, Request));
        Assert.Null(reported.Plan(Key, Request));
        Assert.NotNull(published.Plan(Key, Request));
    }

    [Fact]
    public async Task A_lease_granted_before_a_revocation_that_overtook_it_is_not_taken()
    {
        var table = new SteadyRoutes();

        var asked = table.Ask(Key);
        await table.Revoke(Key); // the grant's revocation arrived before the grant itself
        table.Lend(Key, Leased(TimeSpan.FromHours(1)), asked);
        var whileAside = table.Plan(Key, Request);
        table.Lend(Key, Leased(TimeSpan.FromHours(1)), table.Ask(Key));

        Assert.Null(whileAside);
        Assert.NotNull(table.Plan(Key, Request));
    }

    private static LeasedPlan Leased(TimeSpan period) => new(Steady().Plan(Request), Steady(), period);

    private static SteadyRoute Steady()
    {
        var config = new RouteConfig
        {
            Deployments =
            [
                new RouteDeployment { Name = "second", Provider = ProviderKind.Simulated, Priority = 1, ContextWindow = 8_192 },
                new RouteDeployment { Name = "first", Provider = ProviderKind.Simulated, ContextWindow = 8_192 },
            ],
        };
        var latency = config.Deployments.ToDictionary(d => d.Name, _ => (double?)null);
        return new SteadyRoute("assistant", 3, config, latency, latency);
    }
}
