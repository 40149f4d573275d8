using System.Net;
using System.Text.Json;
using Conversations.Tests.Api;
using Conversations.Tests.Infrastructure;
using Conversations.Tests.Tenancy;

namespace Conversations.Tests.Security;

/// <summary>
/// Tenant admins set their own tenant's guardrails and address allowlist, within what the platform set (never looser, never
/// outside its ranges), and nothing else of the tenant; a key's allowlist and guardrails are bounded by its creator's key:
/// a key never widens what the key that made or changed it may do.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class TenantAdminGuardrailsTests(GatewayFixture fixture)
{
    private const string Loopback = """["127.0.0.0/8","::1"]""";
    private const string EmailChat = """{"model":"sim-small","messages":[{"role":"user","content":"Mail jane.doe@example.com now."}]}""";

    private readonly TenantClient _platform = new(fixture.Gateway.Http());

    [Fact]
    public async Task A_tenant_admin_sets_its_own_tenants_guardrails_and_allowlist_and_they_apply()
    {
        var tenant = await _platform.CreateTenant();
        var (_, adminSecret) = await _platform.CreateKey(tenant, "tenant_admin");
        var (_, member) = await _platform.CreateKey(tenant);
        var own = new TenantClient(fixture.Gateway.Http(adminSecret));

        var set = await own.Post($"/v1/admin/tenants/{tenant}", """{"guardrails":{"pii":{"action":"block","entities":["email"]}},"allowed_ips":""" + Loopback + "}");
        using var blocked = await fixture.Gateway.Http(member).PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(EmailChat));
        using var limits = await fixture.Gateway.Http(adminSecret).PostAsync($"/v1/admin/tenants/{tenant}", ChatCompletionsTests.Json("""{"limits":{"requests_per_minute":1000}}"""));
        using var models = await fixture.Gateway.Http(adminSecret).PostAsync($"/v1/admin/tenants/{tenant}", ChatCompletionsTests.Json("""{"guardrails":{},"allowed_models":["sim-large"]}"""));
        using var other = await fixture.Gateway.Http(adminSecret).PostAsync("/v1/admin/tenants/default", ChatCompletionsTests.Json("""{"allowed_ips":["10.0.0.0/8"]}"""));

        Assert.Equal("block", set.GetProperty("guardrails").GetProperty("pii").GetProperty("action").GetString());
        Assert.Equal(2, set.GetProperty("allowed_ips").GetArrayLength());
        var error = await blocked.AssertOpenAIError(HttpStatusCode.BadRequest);
        Assert.Equal("guardrail_blocked", error.GetProperty("code").GetString());
        await limits.AssertOpenAIError(HttpStatusCode.Forbidden, "limits");
        await models.AssertOpenAIError(HttpStatusCode.Forbidden, "allowed_models");
        await other.AssertOpenAIError(HttpStatusCode.NotFound);
        Assert.Equal("block", (await _platform.Get($"/v1/admin/tenants/{tenant}")).GetProperty("guardrails").GetProperty("pii").GetProperty("action").GetString()); // the refused change left it
    }

    [Fact]
    public async Task A_tenant_admin_cannot_loosen_the_platforms_guardrails_nor_leave_its_ranges()
    {
        var tenant = await _platform.CreateTenant();
        await _platform.Post($"/v1/admin/tenants/{tenant}", """{"guardrails":{"pii":{"action":"block","entities":["email"]}},"allowed_ips":["127.0.0.0/8","::1/128"]}""");
        var (_, adminSecret) = await _platform.CreateKey(tenant, "tenant_admin");
        var (_, member) = await _platform.CreateKey(tenant);
        var own = new TenantClient(fixture.Gateway.Http(adminSecret));

        var loosened = await own.Post($"/v1/admin/tenants/{tenant}", """{"guardrails":{"pii":{"action":"flag","entities":["email","phone"]}}}""");
        var removed = await own.Post($"/v1/admin/tenants/{tenant}", """{"guardrails":{}}""");
        using var blocked = await fixture.Gateway.Http(member).PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(EmailChat));
        using var wider = await fixture.Gateway.Http(adminSecret).PostAsync($"/v1/admin/tenants/{tenant}", ChatCompletionsTests.Json("""{"allowed_ips":["127.0.0.1","10.0.0.0/8"]}"""));
        var narrower = await own.Post($"/v1/admin/tenants/{tenant}", """{"allowed_ips":["127.0.0.1","::1"]}""");

        var pii = loosened.GetProperty("guardrails").GetProperty("pii");
        Assert.Equal("block", pii.GetProperty("actions").GetProperty("email").GetString()); // the platform's block stands
        Assert.Contains("phone", pii.GetProperty("entities").EnumerateArray().Select(e => e.GetString())); // the tenant's addition
        Assert.Equal("block", removed.GetProperty("guardrails").GetProperty("pii").GetProperty("action").GetString()); // back to the platform's, not off
        Assert.Equal("block", removed.GetProperty("platform_guardrails").GetProperty("pii").GetProperty("action").GetString());
        await blocked.AssertOpenAIError(HttpStatusCode.BadRequest);
        await wider.AssertOpenAIError(HttpStatusCode.Forbidden, "allowed_ips[1]");
        Assert.Equal(["127.0.0.1", "::1"], narrower.GetProperty("allowed_ips").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task A_key_cannot_reach_beyond_its_creators_ranges_and_keeps_its_creators_guardrails()
    {
        var tenant = await _platform.CreateTenant();
        var (creatorId, creator) = await _platform.CreateKey(tenant, "tenant_admin", JsonSerializer.Deserialize<JsonElement>(
            """{"allowed_ips":""" + Loopback + ""","guardrails":{"pii":{"action":"block","entities":["email"]}}}"""));
        using var http = fixture.Gateway.Http(creator);

        using var outside = await http.PostAsync($"/v1/admin/tenants/{tenant}/keys", ChatCompletionsTests.Json("""{"name":"k","allowed_ips":["10.0.0.0/8"]}"""));
        using var anywhere = await http.PostAsync($"/v1/admin/tenants/{tenant}/keys", ChatCompletionsTests.Json("""{"name":"k"}"""));
        var (childId, child) = await new TenantClient(http).CreateKey(tenant, extra: JsonSerializer.Deserialize<JsonElement>("""{"allowed_ips":["127.0.0.1"]}"""));
        using var unbound = await http.PostAsync($"/v1/admin/tenants/{tenant}/keys/{childId}", ChatCompletionsTests.Json("""{"allowed_ips":[],"guardrails":{}}"""));
        using var ownLoosened = await http.PostAsync($"/v1/admin/tenants/{tenant}/keys/{creatorId}", ChatCompletionsTests.Json("""{"guardrails":{}}"""));
        using var blocked = await fixture.Gateway.Http(child).PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(EmailChat));
        var shown = (await _platform.Get($"/v1/admin/tenants/{tenant}/keys")).GetProperty("data").EnumerateArray().Single(k => k.GetProperty("id").GetString() == childId);

        await outside.AssertOpenAIError(HttpStatusCode.Forbidden, "allowed_ips[0]");
        await anywhere.AssertOpenAIError(HttpStatusCode.Forbidden, "allowed_ips");
        await unbound.AssertOpenAIError(HttpStatusCode.Forbidden, "allowed_ips");
        Assert.Equal(HttpStatusCode.OK, ownLoosened.StatusCode);
        Assert.Equal("block", JsonDocument.Parse(await ownLoosened.Content.ReadAsStringAsync()).RootElement.GetProperty("guardrails").GetProperty("pii").GetProperty("action").GetString());
        Assert.Equal("block", shown.GetProperty("guardrails").GetProperty("pii").GetProperty("action").GetString()); // the creator's, inherited
        var error = await blocked.AssertOpenAIError(HttpStatusCode.BadRequest);
        Assert.Equal("guardrail_blocked", error.GetProperty("code").GetString());
    }
}
