using Conversations.Caching;
using Conversations.Grains;
using Conversations.Grains.Pipeline;
using Conversations.Routing;
using Conversations.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Conversations.Tests.Caching;

/// <summary>
/// The cache's entries are grains, so the cluster shares them: identical misses made at once on three silos make one model
/// call, and an answer stored on one silo is a hit on every other. Each silo's own pipeline is used, so the test knows where
/// each call runs.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class CacheClusterTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Identical_misses_at_once_on_three_silos_make_one_model_call()
    {
        var alias = await CachedRoute();
        var pipelines = fixture.Cluster.Silos.Select(silo => silo.ServiceProvider.GetRequiredService<CallPipeline>()).ToList();
        Assert.Equal(3, pipelines.Count);

        // The model takes a while to answer, so the calls overlap; whichever way they interleave, only one may reach it.
        var request = new CompletionRequest(alias, [new NewItem(Roles.User, "[sim:delay=300] Everyone at once")], StreamDeltas: false);
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 15).Select(i => pipelines[i % 3].Outcome(request)));

        Assert.All(outcomes, outcome => Assert.NotNull(outcome.Final));
        Assert.Equal(1, outcomes.Count(o => o.Info?.Cache == CacheOutcome.Miss));
        Assert.Equal(14, outcomes.Count(o => o.Info?.Cache == CacheOutcome.Hit));
        Assert.Single(outcomes.Select(o => o.Final!.Text).Distinct());
        Assert.Single(outcomes.Select(o => o.Info?.CacheKey).Distinct());
    }

    [Fact]
    public async Task An_answer_stored_on_one_silo_is_a_hit_on_another_and_a_failed_call_stores_nothing()
    {
        var alias = await CachedRoute();
        var siloA = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredService<CallPipeline>();
        var siloB = fixture.Cluster.Silos[1].ServiceProvider.GetRequiredService<CallPipeline>();
        CompletionRequest Ask(string text) => new(alias, [new NewItem(Roles.User, text)], StreamDeltas: false);

        var onA = await siloA.Outcome(Ask("Shared across the cluster"));
        var onB = await siloB.Outcome(Ask("Shared across the cluster"));
        var failedOnA = await siloA.Outcome(Ask("[sim:status=400] Refused"));
        var failedOnB = await siloB.Outcome(Ask("[sim:status=400] Refused"));

        Assert.Equal((CacheOutcome.Miss, CacheOutcome.Hit), (onA.Info?.Cache, onB.Info?.Cache));
        Assert.Equal(onA.Final!.Text, onB.Final!.Text);
        Assert.Equal((400, 400), (failedOnA.Error?.Status, failedOnB.Error?.Status));
        Assert.Equal((CacheOutcome.Miss, CacheOutcome.Miss), (failedOnA.Info?.Cache, failedOnB.Info?.Cache));
    }

    /// <summary>A platform alias of its own, on the simulated model, that caches exact answers.</summary>
    private async Task<string> CachedRoute()
    {
        var alias = "cached-" + Guid.NewGuid().ToString("N")[..8];
        var changed = await fixture.Grains.GetGrain<IModelRouteGrain>(GrainKeys.For(PlatformRoutes.Tenant, alias)).Change(new RouteConfig
        {
            Deployments = [new RouteDeployment { Name = "only", Provider = ProviderKind.Simulated }],
            Retry = new RetrySettings { MaxRetriesPerDeployment = 0 },
            Cache = new CachePolicy { Mode = CacheMode.Exact },
        }, "test");
        Assert.True(changed.IsSuccess, changed.Error?.Message);
        return alias;
    }
}
