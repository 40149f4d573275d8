using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Api;

/// <summary>Orleans' dashboard, switched on by configuration, answers platform admins only, over real HTTP.</summary>
public sealed class OrleansDashboardTests : IAsyncLifetime
{
    private GatewayFactory _gateway = null!;

    public ValueTask InitializeAsync()
    {
        _gateway = new GatewayFactory(new Dictionary<string, string?> { ["Conversations:Dashboard:Enabled"] = "true" });
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => _gateway.DisposeAsync();

    [Fact]
    public async Task The_platform_admin_key_opens_the_dashboard_and_its_cluster_data()
    {
        using var http = _gateway.Http();

        using var page = await http.GetAsync("/dashboard/");
        var stats = JsonDocument.Parse(await http.GetStringAsync("/dashboard/ClusterStats")).RootElement;

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("index.min.js", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.NotEqual(JsonValueKind.Undefined, stats.ValueKind); // the silo's dashboard grain answered
    }

    [Fact]
    public async Task A_browser_can_give_the_key_as_the_basic_authentication_password()
    {
        using var http = Basic(GatewayFactory.ApiKey);

        using var page = await http.GetAsync("/dashboard/");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
    }

    [Fact]
    public async Task Without_a_key_the_dashboard_answers_401_in_openais_shape_and_asks_the_browser_for_the_key()
    {
        using var http = _gateway.Http(apiKey: null);

        using var page = await http.GetAsync("/dashboard/");
        using var data = await http.GetAsync("/dashboard/ClusterStats");

        await page.AssertOpenAIError(HttpStatusCode.Unauthorized);
        await data.AssertOpenAIError(HttpStatusCode.Unauthorized);
        Assert.StartsWith("Basic ", page.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_key_or_a_tenant_admins_key_is_refused()
    {
        using var wrong = _gateway.Http(apiKey: "sk-not-a-key");
        using var tenantAdmin = _gateway.Http(GatewayFactory.OtherTenantKey);
        using var wrongBasic = Basic("sk-not-a-key");

        using var byWrongKey = await wrong.GetAsync("/dashboard/ClusterStats");
        using var byTenantAdmin = await tenantAdmin.GetAsync("/dashboard/ClusterStats");
        using var byWrongBasic = await wrongBasic.GetAsync("/dashboard/");

        await byWrongKey.AssertOpenAIError(HttpStatusCode.Unauthorized);
        await byTenantAdmin.AssertOpenAIError(HttpStatusCode.Forbidden);
        await byWrongBasic.AssertOpenAIError(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task The_public_api_does_not_take_basic_authentication()
    {
        using var http = Basic(GatewayFactory.ApiKey);

        using var models = await http.GetAsync("/v1/models");

        await models.AssertOpenAIError(HttpStatusCode.Unauthorized);
        Assert.Empty(models.Headers.WwwAuthenticate);
    }

    /// <summary>A client sending <paramref name="key"/> as a browser would after the Basic prompt: as the password.</summary>
    private HttpClient Basic(string key)
    {
        var http = _gateway.Http(apiKey: null);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:" + key)));
        return http;
    }
}

/// <summary>The dashboard is off unless configured: the default service has no such path.</summary>
[Collection(GatewayCollection.Name)]
public sealed class OrleansDashboardOffByDefaultTests(GatewayFixture fixture)
{
    [Fact]
    public async Task The_default_service_serves_no_dashboard()
    {
        using var http = fixture.Gateway.Http();

        using var page = await http.GetAsync("/dashboard/");

        await page.AssertOpenAIError(HttpStatusCode.NotFound);
    }
}
