using System.Net;
using System.Text.Json;
using Conversations.Tests.Api;
using Conversations.Tests.Infrastructure;
using Conversations.Tests.Tenancy;

namespace Conversations.Tests.Security;

/// <summary>
/// Access requests over HTTP: a member key asks for a model or an endpoint group it lacks and is refused until a tenant
/// admin approves (its scope widens, and the decision is audited) or denies; errors in OpenAI's shape, other tenants' requests absent.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class AccessRequestTests(GatewayFixture fixture)
{
    private const string LargeChat = """{"model":"sim-large","messages":[{"role":"user","content":"Hello."}]}""";

    private readonly TenantClient _platform = new(fixture.Gateway.Http());

    [Fact]
    public async Task A_member_is_refused_a_model_until_a_tenant_admin_approves_its_request_and_the_approval_is_audited()
    {
        var tenant = await _platform.CreateTenant();
        var (_, adminSecret) = await _platform.CreateKey(tenant, "tenant_admin");
        var (memberId, memberSecret) = await _platform.CreateKey(tenant, extra: new { allowed_models = new[] { "sim-small" } });
        using var member = fixture.Gateway.Http(memberSecret);
        var admin = new TenantClient(fixture.Gateway.Http(adminSecret));

        using var before = await member.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(LargeChat));
        var asked = await Post(member, "/v1/access_requests", """{"model":"sim-large","reason":"evaluation"}""");
        using var again = await member.PostAsync("/v1/access_requests", ChatCompletionsTests.Json("""{"model":"sim-large"}"""));
        using var stillRefused = await member.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(LargeChat));
        var pending = await admin.Get($"/v1/admin/tenants/{tenant}/access_requests?status=pending");
        var id = asked.GetProperty("id").GetString()!;
        var approved = await admin.Post($"/v1/admin/tenants/{tenant}/access_requests/{id}/approve");
        using var after = await member.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(LargeChat));
        using var twice = await fixture.Gateway.Http(adminSecret).PostAsync($"/v1/admin/tenants/{tenant}/access_requests/{id}/deny", ChatCompletionsTests.Json("{}"));
        var own = await new TenantClient(member).Get("/v1/access_requests");
        var key = (await admin.Get($"/v1/admin/tenants/{tenant}/keys")).GetProperty("data").EnumerateArray().Single(k => k.GetProperty("id").GetString() == memberId);
        var audit = (await admin.Get("/v1/admin/audit?action=access_requests")).GetProperty("data");

        await before.AssertOpenAIError(HttpStatusCode.NotFound, "model");
        Assert.Equal(("access_request", "pending", memberId, "sim-large"), (asked.GetProperty("object").GetString(), asked.GetProperty("status").GetString(), asked.GetProperty("key_id").GetString(), asked.GetProperty("model").GetString()));
        await again.AssertOpenAIError(HttpStatusCode.Conflict);
        await stillRefused.AssertOpenAIError(HttpStatusCode.NotFound, "model");
        Assert.Equal(id, Assert.Single(pending.GetProperty("data").EnumerateArray()).GetProperty("id").GetString());
        Assert.Equal("approved", approved.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        await twice.AssertOpenAIError(HttpStatusCode.Conflict);
        Assert.Equal("approved", Assert.Single(own.GetProperty("data").EnumerateArray()).GetProperty("status").GetString());
        Assert.Equal(["sim-small", "sim-large"], key.GetProperty("allowed_models").EnumerateArray().Select(m => m.GetString()));
        var record = Assert.Single(audit.EnumerateArray());
        Assert.Equal("POST /v1/admin/tenants/{tenantId}/access_requests/{requestId}/approve", record.GetProperty("action").GetString());
        Assert.Equal("approved", record.GetProperty("after").GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_denied_request_for_an_endpoint_group_leaves_the_key_refused_and_an_approved_one_opens_it()
    {
        var tenant = await _platform.CreateTenant();
        var (_, adminSecret) = await _platform.CreateKey(tenant, "tenant_admin");
        var (_, memberSecret) = await _platform.CreateKey(tenant, extra: new { allowed_endpoints = new[] { "chat" } });
        using var member = fixture.Gateway.Http(memberSecret);
        var admin = new TenantClient(fixture.Gateway.Http(adminSecret));
        const string Response = """{"model":"sim-small","input":"Hello."}""";

        var first = await Post(member, "/v1/access_requests", """{"endpoint":"responses"}""");
        var denied = await admin.Post($"/v1/admin/tenants/{tenant}/access_requests/{first.GetProperty("id").GetString()}/deny");
        using var refused = await member.PostAsync("/v1/responses", ChatCompletionsTests.Json(Response));
        var second = await Post(member, "/v1/access_requests", """{"endpoint":"responses"}""");
        await admin.Post($"/v1/admin/tenants/{tenant}/access_requests/{second.GetProperty("id").GetString()}/approve");
        using var allowed = await member.PostAsync("/v1/responses", ChatCompletionsTests.Json(Response));

        Assert.Equal("denied", denied.GetProperty("status").GetString());
        await refused.AssertOpenAIError(HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
    }

    [Fact]
    public async Task Requests_are_refused_in_openai_shape_and_another_tenants_are_absent()
    {
        var tenant = await _platform.CreateTenant();
        var otherTenant = await _platform.CreateTenant();
        var (_, memberSecret) = await _platform.CreateKey(tenant, extra: new { allowed_models = new[] { "sim-small" } });
        var (_, otherAdmin) = await _platform.CreateKey(otherTenant, "tenant_admin");
        using var member = fixture.Gateway.Http(memberSecret);
        var asked = await Post(member, "/v1/access_requests", """{"model":"sim-large"}""");
        var id = asked.GetProperty("id").GetString()!;

        using var both = await member.PostAsync("/v1/access_requests", ChatCompletionsTests.Json("""{"model":"sim-large","endpoint":"chat"}"""));
        using var has = await member.PostAsync("/v1/access_requests", ChatCompletionsTests.Json("""{"model":"sim-small"}"""));
        using var unknownGroup = await member.PostAsync("/v1/access_requests", ChatCompletionsTests.Json("""{"endpoint":"everything"}"""));
        using var selfApproved = await member.PostAsync($"/v1/admin/tenants/{tenant}/access_requests/{id}/approve", ChatCompletionsTests.Json("{}"));
        using var acrossPath = await fixture.Gateway.Http(otherAdmin).PostAsync($"/v1/admin/tenants/{tenant}/access_requests/{id}/approve", ChatCompletionsTests.Json("{}"));
        using var acrossId = await fixture.Gateway.Http(otherAdmin).PostAsync($"/v1/admin/tenants/{otherTenant}/access_requests/{id}/approve", ChatCompletionsTests.Json("{}"));

        await both.AssertOpenAIError(HttpStatusCode.BadRequest, "model");
        await has.AssertOpenAIError(HttpStatusCode.BadRequest, "model");
        await unknownGroup.AssertOpenAIError(HttpStatusCode.BadRequest, "endpoint");
        await selfApproved.AssertOpenAIError(HttpStatusCode.Forbidden);
        await acrossPath.AssertOpenAIError(HttpStatusCode.NotFound);
        await acrossId.AssertOpenAIError(HttpStatusCode.NotFound);
    }

    private static async Task<JsonElement> Post(HttpClient http, string path, string body)
    {
        using var response = await http.PostAsync(path, ChatCompletionsTests.Json(body));
        var raw = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, raw);
        return JsonDocument.Parse(raw).RootElement;
    }
}
