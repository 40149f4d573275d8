using Conversations.Grains.Pipeline;
using Conversations.Grains;
using Conversations.Routing;
using Conversations.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace Conversations.Tests.Routing;

/// <summary>
/// The circuit lives in the route grain, not in a silo: failures that calls on one silo saw open
/// it for calls made on another. Each silo's own pipeline (its router and provider clients) is
/// used directly, so the test knows where each call runs.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class ClusterCircuitTests(ClusterFixture fixture)
{
    [Fact]
    public async Task A_circuit_opened_by_failures_on_one_silo_refuses_calls_on_another()
    {
        Assert.True(fixture.Cluster.Silos.Count >= 2);
        var alias = "flaky-" + Guid.NewGuid().ToString("N")[..8];
        var route = fixture.Grains.GetGrain<IModelRouteGrain>(GrainKeys.For(PlatformRoutes.Tenant, alias));
        var changed = await route.Change(new RouteConfig
        {
            Deployments = [new RouteDeployment { Name = "only", Provider = ProviderKind.Simulated }],
            Retry = new RetrySettings { MaxRetriesPerDeployment = 0 },
            Circuit = new CircuitSettings { FailureRatio = 1, MinimumThroughput = 2, BreakDuration = TimeSpan.FromMinutes(5) },
        }, "test");
        Assert.True(changed.IsSuccess, changed.Error?.Message);
        var siloA = Pipeline(fixture.Cluster.Silos[0]);
        var siloB = Pipeline(fixture.Cluster.Silos[1]);

        var failures = new[] { await Outcome(siloA, alias, "[sim:status=500] one"), await Outcome(siloA, alias, "[sim:status=500] two") };
        var onB = await Outcome(siloB, alias, "a healthy request");
        var view = await route.Describe();

        Assert.All(failures, f => Assert.Equal(502, f.Error?.Status));
        Assert.Equal(503, onB.Error?.Status);
        Assert.Equal("deployments_unavailable", onB.Error?.Code);
        Assert.NotNull(onB.Error?.RetryAfter);
        Assert.Equal("open", view.Value!.Health.Single().Circuit);
    }

    private static CallPipeline Pipeline(InProcessSiloHandle silo) => silo.ServiceProvider.GetRequiredService<CallPipeline>();

    private static Task<CompletionChunk> Outcome(CallPipeline pipeline, string alias, string text) =>
        pipeline.Outcome(new CompletionRequest(alias, [new NewItem(Roles.User, text)], StreamDeltas: false));
}
