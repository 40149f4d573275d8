using System.Globalization;
using System.Net;
using System.Text.Json;
using Conversations.Tests.Api;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Tenancy;

/// <summary>Tenants, keys, limits and usage through the HTTP API.</summary>
[Collection(GatewayCollection.Name)]
public sealed class TenancyApiTests(GatewayFixture fixture)
{
    private readonly TenantClient _admin = new(fixture.Gateway.Http());

    [Fact]
    public async Task A_new_key_works_once_and_is_listed_by_prefix_only()
    {
        var tenant = await _admin.CreateTenant();
        var (keyId, secret) = await _admin.CreateKey(tenant, "tenant_admin");

        using var http = fixture.Gateway.Http(secret);
        using var chat = await Chat(http, "hello");
        var keys = await _admin.Get($"/v1/admin/tenants/{tenant}/keys");
        var listed = keys.GetProperty("data")[0];

        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        Assert.StartsWith("sk-conv-", secret, StringComparison.Ordinal);
        Assert.Equal(keyId, listed.GetProperty("id").GetString());
        Assert.Equal(secret[..12], listed.GetProperty("prefix").GetString());
        Assert.False(listed.TryGetProperty("secret", out _));
        Assert.DoesNotContain(secret[12..], keys.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_revoked_key_is_refused_on_the_next_request()
    {
        var tenant = await _admin.CreateTenant();
        var (keyId, secret) = await _admin.CreateKey(tenant);
        using var http = fixture.Gateway.Http(secret);
        using (var before = await Chat(http, "cached now"))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        await _admin.Post($"/v1/admin/tenants/{tenant}/keys/{keyId}/revoke");

        using var after = await Chat(http, "refused");
        var error = await after.AssertOpenAIError(HttpStatusCode.Unauthorized);
        Assert.Equal("key_revoked", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Rotation_keeps_the_old_secret_for_the_grace_period_only()
    {
        var tenant = await _admin.CreateTenant();
        var (keyId, original) = await _admin.CreateKey(tenant);
        using (var warm = await Chat(fixture.Gateway.Http(original), "cache the original"))
        {
            Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
        }

        var graceful = await _admin.Post($"/v1/admin/tenants/{tenant}/keys/{keyId}/rotate", """{"grace_period_seconds":3600}""");
        var second = graceful.GetProperty("secret").GetString()!;
        using var originalDuringGrace = await Chat(fixture.Gateway.Http(original), "old still works");
        using var secondWorks = await Chat(fixture.Gateway.Http(second), "new works");

        var immediate = await _admin.Post($"/v1/admin/tenants/{tenant}/keys/{keyId}/rotate", """{"grace_period_seconds":0}""");
        var third = immediate.GetProperty("secret").GetString()!;
        using var originalAfter = await Chat(fixture.Gateway.Http(original), "too old");
        using var secondAfter = await Chat(fixture.Gateway.Http(second), "retired without grace");
        using var thirdWorks = await Chat(fixture.Gateway.Http(third), "newest");

        Assert.Equal(HttpStatusCode.OK, originalDuringGrace.StatusCode);
        Assert.Equal(HttpStatusCode.OK, secondWorks.StatusCode);
        Assert.True(graceful.GetProperty("previous_secret_valid_until").GetInt64() > DateTimeOffset.UtcNow.AddMinutes(59).ToUnixTimeSeconds());
        await originalAfter.AssertOpenAIError(HttpStatusCode.Unauthorized);
        await secondAfter.AssertOpenAIError(HttpStatusCode.Unauthorized);
        Assert.Equal(HttpStatusCode.OK, thirdWorks.StatusCode);
    }

    [Fact]
    public async Task Requests_over_the_limit_get_429_with_retry_after_and_every_admitted_one_carries_rate_limit_headers()
    {
        var tenant = await _admin.CreateTenant(limits: new { requests_per_minute = 2, tokens_per_minute = 100_000 });
        var (_, secret) = await _admin.CreateKey(tenant);
        using var http = fixture.Gateway.Http(secret);

        using var first = await Chat(http, "one");
        using var second = await Chat(http, "two");
        using var third = await Chat(http, "three");

        Assert.Equal("2", Header(first, "x-ratelimit-limit-requests"));
        Assert.Equal("1", Header(first, "x-ratelimit-remaining-requests"));
        Assert.Equal("0", Header(second, "x-ratelimit-remaining-requests"));
        Assert.NotNull(Header(second, "x-ratelimit-reset-requests"));
        Assert.Equal("100000", Header(first, "x-ratelimit-limit-tokens"));
        Assert.NotNull(Header(first, "x-ratelimit-remaining-tokens"));
        Assert.NotNull(Header(first, "x-ratelimit-reset-tokens"));
        var error = await third.AssertOpenAIError(HttpStatusCode.TooManyRequests);
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
        Assert.True(third.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        Assert.True(int.Parse(Header(third, "retry-after-ms")!, CultureInfo.InvariantCulture) > 0);
    }

    [Fact]
    public async Task Usage_report_adds_up_to_the_usage_of_the_individual_responses()
    {
        var tenant = await _admin.CreateTenant();
        var (keyId, secret) = await _admin.CreateKey(tenant, "tenant_admin");
        using var http = fixture.Gateway.Http(secret);
        var calls = new[] { ("alice", "sim-small"), ("alice", "sim-large"), ("bob", "sim-small"), ("bob", "sim-small") };
        var expected = new List<(string User, string Model, long Input, long Output)>();
        foreach (var (user, model) in calls)
        {
            using var response = await http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(
                $$"""{"model":"{{model}}","user":"{{user}}","messages":[{"role":"user","content":"usage for {{user}}"}]}"""));
            var usage = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("usage");
            expected.Add((user, model, usage.GetProperty("prompt_tokens").GetInt64(), usage.GetProperty("completion_tokens").GetInt64()));
        }

        var report = await new TenantClient(http).Get("/v1/usage?group_by=user,model");
        var rows = report.GetProperty("data").EnumerateArray().ToList();
        using var csv = await http.GetAsync("/v1/usage?group_by=key&format=csv");
        var csvLines = (await csv.Content.ReadAsStringAsync()).Trim().Split('\n');

        Assert.Equal(3, rows.Count);
        foreach (var group in expected.GroupBy(e => (e.User, e.Model)))
        {
            var row = rows.Single(r => r.GetProperty("user").GetString() == group.Key.User && r.GetProperty("model").GetString() == group.Key.Model);
            Assert.Equal(group.Count(), row.GetProperty("requests").GetInt64());
            Assert.Equal(group.Sum(e => e.Input), row.GetProperty("input_tokens").GetInt64());
            Assert.Equal(group.Sum(e => e.Output), row.GetProperty("output_tokens").GetInt64());
        }

        var smallCost = (expected.Where(e => e.Model == "sim-small").Sum(e => e.Input) * 0.15m + expected.Where(e => e.Model == "sim-small").Sum(e => e.Output) * 0.60m) / 1_000_000m;
        Assert.Equal(smallCost, rows.Where(r => r.GetProperty("model").GetString() == "sim-small").Sum(r => r.GetProperty("cost_usd").GetDecimal()));
        Assert.Equal("text/csv", csv.Content.Headers.ContentType?.MediaType);
        Assert.Equal("key_id,requests,input_tokens,output_tokens,total_tokens,cost_usd,cache_hits,saved_cost_usd", csvLines[0]);
        Assert.StartsWith($"{keyId},4,{expected.Sum(e => e.Input)},{expected.Sum(e => e.Output)},", csvLines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tenant_admin_sees_only_its_own_tenant()
    {
        var ours = await _admin.CreateTenant();
        var theirs = await _admin.CreateTenant();
        var (_, secret) = await _admin.CreateKey(ours, "tenant_admin");
        using var http = fixture.Gateway.Http(secret);

        foreach (var path in new[] { $"/v1/admin/tenants/{theirs}", $"/v1/admin/tenants/{theirs}/keys", $"/v1/usage?tenant={theirs}" })
        {
            using var response = await http.GetAsync(path);
            await response.AssertOpenAIError(HttpStatusCode.NotFound);
        }

        using var create = await http.PostAsync($"/v1/admin/tenants/{theirs}/keys", ChatCompletionsTests.Json("{}"));
        await create.AssertOpenAIError(HttpStatusCode.NotFound);
        using var own = await http.GetAsync($"/v1/admin/tenants/{ours}/keys");
        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        using var raise = await http.PostAsync($"/v1/admin/tenants/{ours}", ChatCompletionsTests.Json("""{"limits":{"requests_per_minute":100000}}"""));
        await raise.AssertOpenAIError(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task A_member_key_cannot_administer_and_a_scoped_key_reaches_only_its_endpoints_and_models()
    {
        var tenant = await _admin.CreateTenant();
        var (_, member) = await _admin.CreateKey(tenant, "member", new { allowed_endpoints = new[] { "chat", "models" }, allowed_models = new[] { "sim-small" } });
        using var http = fixture.Gateway.Http(member);

        using var keys = await http.GetAsync($"/v1/admin/tenants/{tenant}/keys");
        using var conversations = await http.PostAsync("/v1/conversations", ChatCompletionsTests.Json("{}"));
        using var allowed = await Chat(http, "ok", "sim-small");
        using var otherModel = await Chat(http, "no", "sim-large");
        var models = await new TenantClient(http).Get("/v1/models");

        await keys.AssertOpenAIError(HttpStatusCode.Forbidden);
        await conversations.AssertOpenAIError(HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        await otherModel.AssertOpenAIError(HttpStatusCode.NotFound);
        Assert.Equal(["sim-small"], models.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task Disabling_a_tenant_refuses_its_keys_at_once()
    {
        var tenant = await _admin.CreateTenant();
        var (_, secret) = await _admin.CreateKey(tenant);
        using var http = fixture.Gateway.Http(secret);
        using (var warm = await Chat(http, "cached"))
        {
            Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
        }

        await _admin.Post($"/v1/admin/tenants/{tenant}", """{"disabled":true}""");

        using var refused = await Chat(http, "refused");
        var error = await refused.AssertOpenAIError(HttpStatusCode.Unauthorized);
        Assert.Equal("tenant_disabled", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_concurrency_slot_is_released_when_the_client_disconnects_mid_stream_and_no_warning_is_logged()
    {
        var logged = fixture.Logs.Lines.Count;
        var tenant = await _admin.CreateTenant(limits: new { max_concurrent_requests = 1 });
        var (_, secret) = await _admin.CreateKey(tenant);
        using var http = fixture.Gateway.Http(secret);

        using (var cancel = new CancellationTokenSource())
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
            {
                Content = ChatCompletionsTests.Json("""{"model":"sim-small","stream":true,"messages":[{"role":"user","content":"[sim:stall=1] hold the slot"}]}"""),
            };
            using var streaming = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
            Assert.Equal(HttpStatusCode.OK, streaming.StatusCode);
            using var busy = await Chat(http, "no slot while the stream holds it");
            await busy.AssertOpenAIError(HttpStatusCode.TooManyRequests);
            await cancel.CancelAsync(); // the client goes away mid-stream
        }

        // The server notices the disconnect asynchronously; retry as a client would, honouring retry-after.
        HttpStatusCode status = default;
        for (var attempt = 0; attempt < 30 && status != HttpStatusCode.OK; attempt++)
        {
            using var next = await Chat(http, "slot is free again");
            status = next.StatusCode;
            if (status == HttpStatusCode.TooManyRequests)
            {
                await Task.Delay(next.Headers.RetryAfter!.Delta!.Value, TestContext.Current.CancellationToken);
            }
        }

        Assert.Equal(HttpStatusCode.OK, status);

        // The slot is freed after the cancellation has passed every layer, so anything logged for it is logged by now.
        // A client hanging up is routine: no warning, and no stack trace.
        string[] alarming = ["Warning", "Error", "Critical"];
        Assert.DoesNotContain(fixture.Logs.Lines.Skip(logged), line =>
            alarming.Any(level => line.StartsWith(level, StringComparison.Ordinal)) && line.Contains("Canceled", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_tenant_admin_cannot_take_over_a_higher_role_key_or_widen_its_own_scopes()
    {
        var tenant = await _admin.CreateTenant();
        var (platformKeyId, _) = await _admin.CreateKey(tenant, "platform_admin");
        var (_, tenantAdmin) = await _admin.CreateKey(tenant, "tenant_admin", new { allowed_endpoints = new[] { "admin", "chat" } });
        using var http = fixture.Gateway.Http(tenantAdmin);

        using var rotate = await http.PostAsync($"/v1/admin/tenants/{tenant}/keys/{platformKeyId}/rotate", ChatCompletionsTests.Json("{}"));
        using var revoke = await http.PostAsync($"/v1/admin/tenants/{tenant}/keys/{platformKeyId}/revoke", ChatCompletionsTests.Json("{}"));
        using var unscoped = await http.PostAsync($"/v1/admin/tenants/{tenant}/keys", ChatCompletionsTests.Json("""{"name":"wider","role":"member"}"""));
        using var scoped = await http.PostAsync($"/v1/admin/tenants/{tenant}/keys", ChatCompletionsTests.Json("""{"name":"narrow","role":"member","allowed_endpoints":["chat"]}"""));

        await rotate.AssertOpenAIError(HttpStatusCode.Forbidden);
        await revoke.AssertOpenAIError(HttpStatusCode.Forbidden);
        await unscoped.AssertOpenAIError(HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.OK, scoped.StatusCode);
    }

    [Fact]
    public async Task An_absurd_max_output_cannot_overflow_the_reservation()
    {
        var tenant = await _admin.CreateTenant(limits: new { tokens_per_minute = 1_000 });
        var (_, secret) = await _admin.CreateKey(tenant);
        using var http = fixture.Gateway.Http(secret);

        using var huge = await http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(
            """{"model":"sim-small","max_tokens":2147483647,"messages":[{"role":"user","content":"x"}]}"""));
        using var beyondWindow = await http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(
            """{"model":"sim-small","max_tokens":999999,"messages":[{"role":"user","content":"x"}]}"""));
        using var large = await http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(
            """{"model":"sim-small","max_tokens":12000,"messages":[{"role":"user","content":"x"}]}"""));

        await huge.AssertOpenAIError(HttpStatusCode.BadRequest, "max_tokens");
        var tooLong = await beyondWindow.AssertOpenAIError(HttpStatusCode.BadRequest, "messages");
        Assert.Equal("context_length_exceeded", tooLong.GetProperty("code").GetString());
        var error = await large.AssertOpenAIError(HttpStatusCode.TooManyRequests);
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : null;

    private static Task<HttpResponseMessage> Chat(HttpClient http, string text, string model = "sim-small") =>
        http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json($$"""{"model":"{{model}}","max_tokens":50,"messages":[{"role":"user","content":"{{text}}"}]}"""));
}
