using Conversations.Tests.Infrastructure;
using Conversations.Grains.Routing;
using Conversations.Routing;

namespace Conversations.Tests.Routing;

/// <summary>
/// The silo-local table of steady routes plans like the route grain, and stands aside while a failure report
/// from this silo is on its way to the grain, so calls made meanwhile queue behind the report at the grain.
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
