using System.Net;
using System.Text.Json;
using Conversations.Tests.Api;
using Conversations.Tests.Infrastructure;
using Conversations.Tests.Tenancy;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Conversations.Tests.Mcp;

/// <summary>A gateway that may send the credential "mcp-tools" (to tenant <see cref="Tenant"/> only) to <see cref="UpstreamMcpServer"/>.</summary>
public sealed class McpGatewayFixture : IAsyncLifetime
{
    public const string Tenant = "acme";

    public UpstreamMcpServer Upstream { get; private set; } = null!;

    public GatewayFactory Gateway { get; private set; } = null!;

    /// <summary>A tenant admin key of <see cref="Tenant"/>, with no allowlist.</summary>
    public string AdminKey { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Upstream = await UpstreamMcpServer.StartAsync();
        (Gateway, AdminKey) = await StartGateway(Upstream);
    }

    /// <summary>A gateway that may send the credential "mcp-tools" to <paramref name="upstream"/> for <see cref="Tenant"/>, and a tenant admin key of it.</summary>
    public static async Task<(GatewayFactory Gateway, string AdminKey)> StartGateway(UpstreamMcpServer upstream)
    {
        var gateway = new GatewayFactory(new Dictionary<string, string?>
        {
            ["Conversations:Credentials:mcp-tools:ApiKey"] = UpstreamMcpServer.CredentialKey,
            ["Conversations:Credentials:mcp-tools:BaseUrl"] = upstream.Url.ToString(),
            ["Conversations:Credentials:mcp-tools:Tenants:0"] = Tenant,
        });
        using var platform = gateway.Http();
        var tenants = new TenantClient(platform);
        await tenants.CreateTenant(id: Tenant);
        return (gateway, (await tenants.CreateKey(Tenant, "tenant_admin")).Secret);
    }

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}

/// <summary>
/// The MCP gateway through the official MCP C# client over real HTTP: a real upstream MCP server (the official SDK on
/// loopback) registered through the admin API, its tools federated at <c>/mcp</c> under its label, narrowed by each key's
/// <c>allowed_mcp_tools</c>, metered and audited; credentials and internal addresses kept out of tenants' hands.
/// </summary>
public sealed class McpGatewayTests(McpGatewayFixture fixture) : IClassFixture<McpGatewayFixture>
{
    private static readonly string[] BuiltIn = ["conversation_facts_get", "conversation_facts_set", "conversation_search", "knowledge_search", "list_knowledge_bases"];

    [Fact]
    public async Task An_upstream_servers_tools_are_offered_under_its_label_and_a_keys_allowlist_hides_and_refuses_the_others()
    {
        using var admin = fixture.Gateway.Http(fixture.AdminKey);
        await Register(admin, "weather");
        var tenants = new TenantClient(admin);
        var (keyId, narrow) = await tenants.CreateKey(McpGatewayFixture.Tenant, "member", new { allowed_mcp_tools = new[] { "weather__forecast", "list_knowledge_bases" } });
        var (_, none) = await tenants.CreateKey(McpGatewayFixture.Tenant, "member", new { allowed_mcp_tools = Array.Empty<string>() });
        await using var all = await Connect(fixture.AdminKey);
        await using var allowed = await Connect(narrow);
        await using var nothing = await Connect(none);
        await using var otherTenant = await Connect(GatewayFactory.OtherTenantKey);

        var allTools = (await all.ListToolsAsync()).Select(t => t.Name).Order(StringComparer.Ordinal).ToList();
        Assert.Equal([.. BuiltIn, "weather__delete_repository", "weather__fail", "weather__forecast"], allTools);
        Assert.Equal(["list_knowledge_bases", "weather__forecast"], (await allowed.ListToolsAsync()).Select(t => t.Name).Order(StringComparer.Ordinal));
        Assert.Empty(await nothing.ListToolsAsync());
        Assert.DoesNotContain(await otherTenant.ListToolsAsync(), t => t.Name.StartsWith("weather__", StringComparison.Ordinal));

        var forecast = await allowed.CallToolAsync("weather__forecast", new Dictionary<string, object?> { ["city"] = "Lisbon" });
        Assert.Equal("Sunny in Lisbon, 24 °C.", Text(forecast));
        var refused = await Assert.ThrowsAsync<McpProtocolException>(async () =>
            await allowed.CallToolAsync("weather__delete_repository", new Dictionary<string, object?> { ["name"] = "prod" }));
        Assert.Contains("Unknown tool", refused.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<McpProtocolException>(async () => await nothing.CallToolAsync("weather__forecast", new Dictionary<string, object?> { ["city"] = "Oslo" }));
        await Assert.ThrowsAsync<McpProtocolException>(async () => await otherTenant.CallToolAsync("weather__forecast", new Dictionary<string, object?> { ["city"] = "Oslo" }));
        var failed = await all.CallToolAsync("weather__fail", new Dictionary<string, object?>());

        Assert.True(failed.IsError); // the upstream's tool error reaches the client as one
        Assert.Equal(["forecast", "fail"], fixture.Upstream.Called); // nothing refused reached the upstream
        Assert.All(fixture.Upstream.Authorizations, header => Assert.Equal("Bearer " + UpstreamMcpServer.CredentialKey, header)); // never a client's key

        var usage = await tenants.Get($"/v1/usage?group_by=key,model");
        Assert.Contains(usage.GetProperty("data").EnumerateArray(), row =>
            row.GetProperty("key_id").GetString() == keyId && row.GetProperty("model").GetString() == "mcp:weather__forecast" && row.GetProperty("requests").GetInt64() == 1);
        var audit = (await tenants.Get("/v1/admin/audit?action=MCP")).GetProperty("data").EnumerateArray().ToList();
        Assert.Contains(audit, r => r.GetProperty("actor_key").GetString() == keyId && r.GetProperty("target").GetString() == "weather__forecast" && r.GetProperty("status").GetInt32() == 200);
        Assert.Contains(audit, r => r.GetProperty("target").GetString() == "weather__fail" && r.GetProperty("status").GetInt32() == 422);
    }

    [Fact]
    public async Task A_key_with_an_allowlist_creates_only_keys_within_it()
    {
        using var admin = fixture.Gateway.Http(fixture.AdminKey);
        var tenants = new TenantClient(admin);
        var (_, narrowAdmin) = await tenants.CreateKey(McpGatewayFixture.Tenant, "tenant_admin", new { allowed_mcp_tools = new[] { "weather__*" } });
        using var http = fixture.Gateway.Http(narrowAdmin);

        using var wider = await http.PostAsync($"/v1/admin/tenants/{McpGatewayFixture.Tenant}/keys", ChatCompletionsTests.Json("""{"name":"w","role":"member"}"""));
        using var within = await http.PostAsync($"/v1/admin/tenants/{McpGatewayFixture.Tenant}/keys", ChatCompletionsTests.Json("""{"name":"n","role":"member","allowed_mcp_tools":["weather__forecast"]}"""));
        using var invalid = await admin.PostAsync($"/v1/admin/tenants/{McpGatewayFixture.Tenant}/keys", ChatCompletionsTests.Json("""{"name":"n","role":"member","allowed_mcp_tools":["a b"]}"""));

        await wider.AssertOpenAIError(HttpStatusCode.Forbidden, "allowed_mcp_tools");
        Assert.Equal(HttpStatusCode.OK, within.StatusCode);
        Assert.Contains("\"allowed_mcp_tools\":[\"weather__forecast\"]", await within.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await invalid.AssertOpenAIError(HttpStatusCode.BadRequest, "allowed_mcp_tools");
    }

    [Fact]
    public async Task Registration_names_the_credential_never_its_key_and_refuses_internal_addresses_and_credentials_not_for_the_tenant_or_url()
    {
        using var admin = fixture.Gateway.Http(fixture.AdminKey);
        using var otherAdmin = fixture.Gateway.Http(GatewayFactory.OtherTenantKey);
        var registered = await Register(admin, "files");
        var listed = await admin.GetStringAsync(new Uri($"/v1/admin/tenants/{McpGatewayFixture.Tenant}/mcp_servers", UriKind.Relative));

        Assert.Equal("mcp-tools", registered.GetProperty("credential").GetString());
        Assert.DoesNotContain(UpstreamMcpServer.CredentialKey, listed, StringComparison.Ordinal);
        Assert.Contains("\"label\":\"files\"", listed, StringComparison.Ordinal);

        await AssertRefused(admin, McpGatewayFixture.Tenant, new { label = "files", url = fixture.Upstream.Url, credential = "mcp-tools" }, HttpStatusCode.Conflict, null);
        await AssertRefused(admin, McpGatewayFixture.Tenant, new { label = "loop", url = "http://127.0.0.1:9/mcp" }, HttpStatusCode.BadRequest, "url");
        await AssertRefused(admin, McpGatewayFixture.Tenant, new { label = "metadata", url = "http://169.254.169.254/latest" }, HttpStatusCode.BadRequest, "url");
        await AssertRefused(admin, McpGatewayFixture.Tenant, new { label = "mapped", url = "http://[::ffff:10.0.0.1]/mcp" }, HttpStatusCode.BadRequest, "url");
        await AssertRefused(admin, McpGatewayFixture.Tenant, new { label = "elsewhere", url = "http://127.0.0.1:9/mcp", credential = "mcp-tools" }, HttpStatusCode.BadRequest, "credential");
        await AssertRefused(otherAdmin, "other", new { label = "borrowed", url = fixture.Upstream.Url, credential = "mcp-tools" }, HttpStatusCode.BadRequest, "credential");
        await AssertRefused(admin, McpGatewayFixture.Tenant, new { label = "Bad__label", url = fixture.Upstream.Url }, HttpStatusCode.BadRequest, "label");
        await AssertRefused(admin, McpGatewayFixture.Tenant, new { label = "ftp", url = "ftp://example.com/mcp" }, HttpStatusCode.BadRequest, "url");
        await AssertRefused(otherAdmin, McpGatewayFixture.Tenant, new { label = "theirs", url = fixture.Upstream.Url }, HttpStatusCode.NotFound, null);

        using var removed = await admin.DeleteAsync(new Uri($"/v1/admin/tenants/{McpGatewayFixture.Tenant}/mcp_servers/files", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        await using var client = await Connect(fixture.AdminKey);
        Assert.DoesNotContain(await client.ListToolsAsync(), t => t.Name.StartsWith("files__", StringComparison.Ordinal));
        var audit = await new TenantClient(admin).Get("/v1/admin/audit?action=mcp_servers");
        Assert.Contains(audit.GetProperty("data").EnumerateArray(), r => r.GetProperty("action").GetString()!.StartsWith("DELETE", StringComparison.Ordinal));
    }

    private async Task<JsonElement> Register(HttpClient admin, string label)
    {
        using var response = await admin.PostAsync($"/v1/admin/tenants/{McpGatewayFixture.Tenant}/mcp_servers",
            ChatCompletionsTests.Json(JsonSerializer.Serialize(new { label, url = fixture.Upstream.Url, credential = "mcp-tools" })));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement;
    }

    private static async Task AssertRefused(HttpClient http, string tenant, object body, HttpStatusCode status, string? param)
    {
        using var response = await http.PostAsync($"/v1/admin/tenants/{tenant}/mcp_servers", ChatCompletionsTests.Json(JsonSerializer.Serialize(body)));
        await response.AssertOpenAIError(status, param);
    }

    private Task<McpClient> Connect(string key) => GatewayMcpClient.Connect(fixture.Gateway.BaseAddress, key);

    private static string Text(CallToolResult result) => GatewayMcpClient.Text(result);
}
