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
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class RoutePlannerTests(ClusterFixture fixture)
{
    [Fact]
    public async Task An_invented_model_name_is_refused_without_activating_a_route_grain_and_a_new_alias_is_callable_at_once()
    {
        var invented = "invented-" + Guid.NewGuid().ToString("N")[..8];
        var created = "created-" + Guid.NewGuid().ToString("N")[..8];
        var pipeline = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredService<ChatPipeline>();

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
        var pipeline = fixture.Cluster.Silos[1].ServiceProvider.GetRequiredService<ChatPipeline>();
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

    private static Caller Caller(string tenant) =>
        new(tenant, "key-" + tenant, Role.Member, [], [], Limits.None, Limits.None, Limits.None);

    private static Task<CompletionChunk> Outcome(ChatPipeline pipeline, string alias, Caller? caller = null) =>
        pipeline.Outcome(new CompletionRequest(alias, [new NewItem(Roles.User, "hello")], StreamDeltas: false) { Caller = caller });
}
