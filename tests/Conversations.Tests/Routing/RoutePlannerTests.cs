using Conversations.Grains.Pipeline;
using Conversations.Grains;
using Conversations.Grains.Routing;
using Conversations.Routing;
using Conversations.Tenancy;
using Conversations.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Conversations.Tests.Routing;

/// <summary>
/// A model name no route has is refused before any route grain is called (and so activated) for it, so
/// invented names cost no activation and no storage read; an alias that gains a route is callable at once.
/// A steady route is planned without a grain call in the silo where its grain is active, and by the grain
/// everywhere else and as soon as it stops being steady.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class RoutePlannerTests(ClusterFixture fixture)
{
    [Fact]
    public async Task An_invented_model_name_is_refused_without_activating_a_route_grain_and_a_new_alias_is_callable_at_once()
    {
        var invented = "invented-" + Guid.NewGuid().ToString("N")[..8];
        var created = "created-" + Guid.NewGuid().ToString("N")[..8];
        var pipeline = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredService<CallPipeline>();

        var refused = await Outcome(pipeline, invented);
        var changed = await fixture.Grains.GetGrain<IModelRouteGrain>(GrainKeys.For(PlatformRoutes.Tenant, created))
            .Change(new RouteConfig { Deployments = [new RouteDeployment { Name = "only", Provider = ProviderKind.Simulated }] }, "test");
        var served = await Outcome(pipeline, created);

        Assert.Equal(404, refused.Error?.Status);
        Assert.Equal("model_not_found", refused.Error?.Code);
        Assert.DoesNotContain(fixture.RouteGrainCalls, key => key.EndsWith("/" + invented, StringComparison.Ordinal));
        Assert.True(changed.IsSuccess, changed.Error?.Message);
        Assert.NotNull(served.Final);
        Assert.Contains(fixture.RouteGrainCalls, key => key.EndsWith("/" + created, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_tenants_own_alias_is_callable_by_that_tenant_only_and_refused_once_removed()
    {
        var (tenant, other) = ("acme-" + Guid.NewGuid().ToString("N")[..8], "other-" + Guid.NewGuid().ToString("N")[..8]);
        var pipeline = fixture.Cluster.Silos[1].ServiceProvider.GetRequiredService<CallPipeline>();
        var route = fixture.Grains.GetGrain<IModelRouteGrain>(GrainKeys.For(tenant, "assistant"));

        var added = await route.Change(new RouteConfig { Deployments = [new RouteDeployment { Name = "only", Provider = ProviderKind.Simulated }] }, "test");
        var byOwner = await Outcome(pipeline, "assistant", Caller(tenant));
        var byOther = await Outcome(pipeline, "assistant", Caller(other));
        var removed = await route.Change(null, "test");
        var afterRemoval = await Outcome(pipeline, "assistant", Caller(tenant));

        Assert.True(added.IsSuccess && removed.IsSuccess);
        Assert.NotNull(byOwner.Final);
        Assert.Equal(404, byOther.Error?.Status);
        Assert.Equal(404, afterRemoval.Error?.Status);
        Assert.DoesNotContain(fixture.RouteGrainCalls, key => key == GrainKeys.For(other, "assistant")); // refused before any route grain
    }

    [Fact]
    public async Task A_steady_route_is_planned_in_its_grains_silo_without_a_grain_call_and_by_the_grain_once_a_deployment_cools_down()
    {
        var alias = "steady-" + Guid.NewGuid().ToString("N")[..8];
        var key = GrainKeys.For(PlatformRoutes.Tenant, alias);
        var changed = await fixture.Grains.GetGrain<IModelRouteGrain>(key)
            .Change(new RouteConfig { Deployments = [new RouteDeployment { Name = "only", Provider = ProviderKind.Simulated }] }, "test");
        var home = Home(key);
        var away = fixture.Cluster.Silos.First(silo => silo.ServiceProvider != home).ServiceProvider;
        int Plans() => fixture.RoutePlans.Count(planned => planned == key);

        var before = Plans();
        var atHome = new[] { await Outcome(home.GetRequiredService<CallPipeline>(), alias), await Outcome(home.GetRequiredService<CallPipeline>(), alias) };
        var plannedAtHome = Plans() - before;
        var elsewhere = await Outcome(away.GetRequiredService<CallPipeline>(), alias);
        var plannedElsewhere = Plans() - before - plannedAtHome;

        // A throttled attempt with a retry-after cools the only deployment down: the grain withdraws the route, plans the next call itself, and refuses it.
        var throttled = await Outcome(home.GetRequiredService<CallPipeline>(), alias, "[sim:status=429][sim:retry=60] slow down");
        var beforeCooling = Plans();
        var cooling = await Outcome(home.GetRequiredService<CallPipeline>(), alias);

        Assert.True(changed.IsSuccess, changed.Error?.Message);
        Assert.All(atHome, outcome => Assert.NotNull(outcome.Final));
        Assert.Equal(0, plannedAtHome);
        Assert.NotNull(elsewhere.Final);
        Assert.Equal(1, plannedElsewhere);
        Assert.NotNull(throttled.Error);
        Assert.False(home.GetRequiredService<SteadyRoutes>().Holds(key));
        Assert.Equal(("deployments_unavailable", 503), (cooling.Error?.Code, cooling.Error?.Status));
        Assert.Equal(beforeCooling + 1, Plans());
    }

    [Fact]
    public async Task In_the_grains_silo_the_next_call_after_a_route_change_takes_the_new_version_and_a_removed_route_is_refused()
    {
        var alias = "changing-" + Guid.NewGuid().ToString("N")[..8];
        var key = GrainKeys.For(PlatformRoutes.Tenant, alias);
        var route = fixture.Grains.GetGrain<IModelRouteGrain>(key);
        static RouteConfig Only(string name) => new() { Deployments = [new RouteDeployment { Name = name, Provider = ProviderKind.Simulated }] };

        await route.Change(Only("one"), "test");
        var pipeline = Home(key).GetRequiredService<CallPipeline>();
        var first = await Outcome(pipeline, alias);
        await route.Change(Only("two"), "test");
        var second = await Outcome(pipeline, alias);
        await route.Change(null, "test");
        var removed = await Outcome(pipeline, alias);

        Assert.Equal(("one", 1), (first.Route?.Deployment, first.Route?.RouteVersion));
        Assert.Equal(("two", 2), (second.Route?.Deployment, second.Route?.RouteVersion));
        Assert.Equal(404, removed.Error?.Status);
    }

    /// <summary>The services of the silo where the route grain under <paramref name="key"/> is active (the one whose table holds it).</summary>
    private IServiceProvider Home(string key) =>
        fixture.Cluster.Silos.Single(silo => silo.ServiceProvider.GetRequiredService<SteadyRoutes>().Holds(key)).ServiceProvider;

    private static Caller Caller(string tenant) =>
        new(tenant, "key-" + tenant, Role.Member, [], [], Limits.None, Limits.None, Limits.None);

    private static Task<CompletionChunk> Outcome(CallPipeline pipeline, string alias, Caller? caller = null) => Outcome(pipeline, alias, "hello", caller);

    private static Task<CompletionChunk> Outcome(CallPipeline pipeline, string alias, string text, Caller? caller = null) =>
        pipeline.Outcome(new CompletionRequest(alias, [new NewItem(Roles.User, text)], StreamDeltas: false) { Caller = caller });
}
