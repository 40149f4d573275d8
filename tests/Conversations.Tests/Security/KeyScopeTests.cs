using System.Net;
using System.Text.Json;
using Conversations.Tests.Api;
using Conversations.Tests.Infrastructure;
using Conversations.Tests.Tenancy;

namespace Conversations.Tests.Security;

/// <summary>
/// A key acts only on what stays within its own scopes (issue 17, findings 1, 2 and 7): it creates, rotates
/// and revokes only keys whose role, models, endpoint groups, limits and expiry are within its own, and
/// manages routes only of models it may use; a secret replaced by a rotation stops working when its grace
/// period ends, even where it is cached. The service's clock is the test's, so expiry needs no waiting.
/// </summary>
public sealed class KeyScopeTests(ManualClockGatewayFixture fixture) : IClassFixture<ManualClockGatewayFixture>
{
    private readonly TenantClient _admin = new(fixture.Gateway.Http());

    /// <summary>
    /// Each row is a key narrower than <see cref="Creator"/> in every way but one, and the field (the
    /// error's <c>param</c>) in which it reaches further. Null lists are unscoped; a null limit or expiry is none.
    /// </summary>
    public static TheoryData<string, string[]?, string[]?, int?, int?, string> WiderInOneWay => new()
    {
        { "platform_admin", ["sim-small"], ["chat"], 1, 30, "role" },
        { "member", ["sim-small", "sim-large"], ["chat"], 1, 30, "allowed_models" },
        { "member", null, ["chat"], 1, 30, "allowed_models" },
        { "member", ["sim-small"], ["chat", "usage"], 1, 30, "allowed_endpoints" },
        { "member", ["sim-small"], null, 1, 30, "allowed_endpoints" },
        { "member", ["sim-small"], ["chat"], null, 30, "limits.requests_per_minute" },
        { "member", ["sim-small"], ["chat"], 5, 30, "limits.requests_per_minute" },
        { "member", ["sim-small"], ["chat"], 1, null, "expires_at" },
        { "member", ["sim-small"], ["chat"], 1, 90, "expires_at" },
    };

    [Theory]
    [MemberData(nameof(WiderInOneWay))]
    public async Task A_key_cannot_create_a_key_that_reaches_beyond_its_own_scopes(
        string role, string[]? models, string[]? endpoints, int? requestsPerMinute, int? expiresInMinutes, string wider)
    {
        var tenant = await _admin.CreateTenant();
        var (_, creator) = await _admin.CreateKey(tenant, "tenant_admin", Creator());
        using var http = fixture.Gateway.Http(creator);

        using var created = await http.PostAsync($"/v1/admin/tenants/{tenant}/keys",
            ChatCompletionsTests.Json(KeyBody(role, models, endpoints, requestsPerMinute, expiresInMinutes)));

        var error = await created.AssertOpenAIError(HttpStatusCode.Forbidden, wider);
        Assert.Equal("insufficient_permissions", error.GetProperty("code").GetString());
    }

    [Theory]
    [MemberData(nameof(WiderInOneWay))]
    public async Task A_key_can_neither_rotate_nor_revoke_a_key_that_reaches_beyond_its_own_scopes(
        string role, string[]? models, string[]? endpoints, int? requestsPerMinute, int? expiresInMinutes, string wider)
    {
        var tenant = await _admin.CreateTenant();
        var (_, scoped) = await _admin.CreateKey(tenant, "tenant_admin", Creator());
        var target = await _admin.Post($"/v1/admin/tenants/{tenant}/keys", KeyBody(role, models, endpoints, requestsPerMinute, expiresInMinutes));
        var (targetId, targetSecret) = (target.GetProperty("id").GetString()!, target.GetProperty("secret").GetString()!);
        using var http = fixture.Gateway.Http(scoped);

        using var rotate = await http.PostAsync($"/v1/admin/tenants/{tenant}/keys/{targetId}/rotate", ChatCompletionsTests.Json("{}"));
        using var revoke = await http.PostAsync($"/v1/admin/tenants/{tenant}/keys/{targetId}/revoke", ChatCompletionsTests.Json("{}"));
        using var untouched = await Chat(fixture.Gateway.Http(targetSecret), "sim-small");

        await rotate.AssertOpenAIError(HttpStatusCode.Forbidden, wider);
        await revoke.AssertOpenAIError(HttpStatusCode.Forbidden, wider);
        Assert.Equal(HttpStatusCode.OK, untouched.StatusCode); // neither a new secret nor a revocation happened
    }

    [Fact]
    public async Task A_key_creates_rotates_and_revokes_keys_within_its_scopes()
    {
        var tenant = await _admin.CreateTenant();
        var (_, creator) = await _admin.CreateKey(tenant, "tenant_admin", Creator());
        var scoped = new TenantClient(fixture.Gateway.Http(creator));

        // Narrower in every way, and limited in a way the creator is not: a child may always add limits.
        var child = await scoped.Post($"/v1/admin/tenants/{tenant}/keys",
            $$"""{"name":"child","role":"member","allowed_models":["sim-small"],"allowed_endpoints":["chat"],"limits":{"requests_per_minute":2,"tokens_per_minute":1000},"expires_at":{{ExpiresIn(60)}}}""");
        var childId = child.GetProperty("id").GetString()!;
        var rotated = await scoped.Post($"/v1/admin/tenants/{tenant}/keys/{childId}/rotate");
        var revoked = await scoped.Post($"/v1/admin/tenants/{tenant}/keys/{childId}/revoke");

        Assert.StartsWith("sk-conv-", rotated.GetProperty("secret").GetString(), StringComparison.Ordinal);
        Assert.Equal("revoked", revoked.GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_scoped_tenant_admin_cannot_see_or_change_the_route_of_a_model_it_may_not_use()
    {
        var tenant = await _admin.CreateTenant();
        var (_, unscoped) = await _admin.CreateKey(tenant);
        var (_, scoped) = await _admin.CreateKey(tenant, "tenant_admin", Creator());
        using var http = fixture.Gateway.Http(scoped);
        const string hijack = """{"deployments":[{"name":"hijacked","provider":"simulated"}]}""";
        var routes = $"/v1/admin/tenants/{tenant}/routes";

        using var put = await http.PutAsync($"{routes}/sim-large", ChatCompletionsTests.Json(hijack));
        using var delete = await http.DeleteAsync($"{routes}/sim-large");
        using var rollback = await http.PostAsync($"{routes}/sim-large/rollback", ChatCompletionsTests.Json("""{"version":0}"""));
        using var read = await http.GetAsync($"{routes}/sim-large");
        using var versions = await http.GetAsync($"{routes}/sim-large/versions");
        using var own = await http.PutAsync($"{routes}/sim-small", ChatCompletionsTests.Json("""{"deployments":[{"name":"own-small","provider":"simulated"}]}"""));
        using var list = await http.GetAsync(routes);
        var route = await _admin.Get($"{routes}/sim-large");
        using var otherKeysCall = await Chat(fixture.Gateway.Http(unscoped), "sim-large");

        foreach (var refused in new[] { put, delete, rollback, read, versions })
        {
            var error = await refused.AssertOpenAIError(HttpStatusCode.NotFound, "alias");
            Assert.Equal("model_not_found", error.GetProperty("code").GetString());
        }

        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        var listed = JsonDocument.Parse(await list.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(["sim-small"], listed.GetProperty("data").EnumerateArray().Select(r => r.GetProperty("id").GetString()));
        Assert.DoesNotContain("hijacked", route.GetRawText(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, otherKeysCall.StatusCode);
    }

    [Fact]
    public async Task A_replaced_secret_is_refused_when_its_grace_period_ends_though_it_was_cached()
    {
        var tenant = await _admin.CreateTenant();
        var (keyId, original) = await _admin.CreateKey(tenant);
        using var old = fixture.Gateway.Http(original);
        using (var warm = await Chat(old, "sim-small"))
        {
            Assert.Equal(HttpStatusCode.OK, warm.StatusCode); // this process now caches the original secret
        }

        var rotated = await _admin.Post($"/v1/admin/tenants/{tenant}/keys/{keyId}/rotate", """{"grace_period_seconds":2}""");
        using var duringGrace = await Chat(old, "sim-small");
        fixture.Clock.Advance(TimeSpan.FromSeconds(2));
        using var afterGrace = await Chat(old, "sim-small");
        using var replacement = await Chat(fixture.Gateway.Http(rotated.GetProperty("secret").GetString()), "sim-small");

        Assert.Equal(HttpStatusCode.OK, duringGrace.StatusCode);
        var error = await afterGrace.AssertOpenAIError(HttpStatusCode.Unauthorized);
        Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.OK, replacement.StatusCode);
    }

    /// <summary>A tenant admin limited to one model, chat and admin, 2 requests a minute, and an hour to live.</summary>
    private object Creator() => new
    {
        allowed_models = new[] { "sim-small" },
        allowed_endpoints = new[] { "admin", "chat" },
        limits = new { requests_per_minute = 2 },
        expires_at = ExpiresIn(60),
    };

    private string KeyBody(string role, string[]? models, string[]? endpoints, int? requestsPerMinute, int? expiresInMinutes) =>
        JsonSerializer.Serialize(new
        {
            name = "target",
            role,
            allowed_models = models,
            allowed_endpoints = endpoints,
            limits = new { requests_per_minute = requestsPerMinute },
            expires_at = expiresInMinutes is { } minutes ? ExpiresIn(minutes) : (long?)null,
        });

    private long ExpiresIn(int minutes) => fixture.Clock.Now.AddMinutes(minutes).ToUnixTimeSeconds();

    private static Task<HttpResponseMessage> Chat(HttpClient http, string model) =>
        http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json($$"""{"model":"{{model}}","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}"""));
}
