using Conversations.Grains;
using Conversations.Routing;

namespace Conversations.Tests.Infrastructure;

/// <summary>
/// A route of one test's own for telling the simulated model to fail (<c>[sim:status=503]</c>, <c>[sim:cut=3]</c>).
/// A route's circuit counts every call to it across the cluster, so failures injected on a shared alias such as
/// <c>sim-small</c> open its circuit for whichever test of the same fixture runs next (it did, in CI).
/// </summary>
public static class FailingRoutes
{
    /// <summary>A route changed on its grain (the platform's, or <paramref name="tenant"/>'s own): for tests that call the grains directly.</summary>
    public static async Task<string> Create(IGrainFactory grains, string tenant = PlatformRoutes.Tenant)
    {
        var alias = NewAlias();
        var changed = await grains.GetGrain<IModelRouteGrain>(GrainKeys.For(tenant, alias)).Change(new RouteConfig
        {
            Deployments = [new RouteDeployment { Name = alias, Provider = ProviderKind.Simulated }],
        }, "test");
        Assert.True(changed.IsSuccess, changed.Error?.Message);
        return alias;
    }

    /// <summary>A route of the caller's tenant, put through the admin API: for tests that call over HTTP with a tenant admin key.</summary>
    public static async Task<string> Create(HttpClient tenantAdmin, string tenant = "default")
    {
        var alias = NewAlias();
        using var put = await tenantAdmin.PutAsync(
            $"/v1/admin/tenants/{tenant}/routes/{alias}", JsonHttp.Body($$"""{"deployments":[{"name":"{{alias}}","provider":"simulated"}]}"""));
        Assert.True(put.IsSuccessStatusCode, $"{(int)put.StatusCode} {await put.Content.ReadAsStringAsync()}");
        return alias;
    }

    private static string NewAlias() => "failing-" + Guid.NewGuid().ToString("N")[..8];
}
