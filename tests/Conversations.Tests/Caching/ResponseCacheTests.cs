using System.Text.Json;
using Conversations.Tests.Infrastructure;
using Conversations.Tests.Tenancy;
using static Conversations.Tests.Caching.CallOutcome;

namespace Conversations.Tests.Caching;

/// <summary>The exact response cache over real HTTP, with the simulated upstream counting the calls that reach it.</summary>
public sealed class ResponseCacheTests(CacheFixture fixture) : IClassFixture<CacheFixture>
{
    private const string ChatPath = "/v1/chat/completions";

    [Fact]
    public async Task An_identical_second_request_is_a_hit_with_the_same_content_and_no_upstream_call()
    {
        using var http = fixture.Gateway.Http();
        var marker = CacheFixture.Marker();

        var first = await Post(http, ChatPath, Chat("cached", "Tell me about caches " + marker));
        var second = await Post(http, ChatPath, Chat("cached", "Tell me about caches " + marker));

        Assert.Equal((200, "miss"), (first.Status, first.Cache));
        Assert.Equal((200, "hit"), (second.Status, second.Cache));
        Assert.Equal(first.Text, second.Text);
        Assert.Equal(first.Key, second.Key);
        Assert.NotEqual(first.Body.GetProperty("id").GetString(), second.Body.GetProperty("id").GetString());
        Assert.Equal(first.Body.GetProperty("usage").GetRawText(), second.Body.GetProperty("usage").GetRawText());
        Assert.Equal(1, await fixture.UpstreamCalls(marker));
    }

    [Fact]
    public async Task A_request_for_logprobs_goes_past_the_cache_and_gets_them()
    {
        using var http = fixture.Gateway.Http();
        var marker = CacheFixture.Marker();

        var first = await Post(http, ChatPath, Chat("cached", "Logprobs " + marker));
        var withLogprobs = await Post(http, ChatPath, Chat("cached", "Logprobs " + marker, ""","logprobs":true"""));

        Assert.Equal((200, "miss"), (first.Status, first.Cache));
        Assert.Equal(200, withLogprobs.Status);
        Assert.NotEqual("hit", withLogprobs.Cache);
        Assert.NotEmpty(withLogprobs.Body.GetProperty("choices")[0].GetProperty("logprobs").GetProperty("content").EnumerateArray());
        Assert.Equal(2, await fixture.UpstreamCalls(marker));
    }

    [Fact]
    public async Task A_different_tenant_or_sampling_parameter_is_a_miss()
    {
        using var http = fixture.Gateway.Http();
        using var other = fixture.Gateway.Http(GatewayFactory.OtherTenantKey);
        var marker = CacheFixture.Marker();

        var first = await Post(http, ChatPath, Chat("cached", "Sampling " + marker, ""","temperature":0.5"""));
        var otherTenant = await Post(other, ChatPath, Chat("cached", "Sampling " + marker, ""","temperature":0.5"""));
        var otherTemperature = await Post(http, ChatPath, Chat("cached", "Sampling " + marker, ""","temperature":0.6"""));
        var otherTopP = await Post(http, ChatPath, Chat("cached", "Sampling " + marker, ""","temperature":0.5,"top_p":0.9"""));
        var again = await Post(http, ChatPath, Chat("cached", "Sampling " + marker, ""","temperature":0.5"""));

        Assert.Equal(["miss", "miss", "miss", "miss", "hit"], new[] { first, otherTenant, otherTemperature, otherTopP, again }.Select(o => o.Cache));
        Assert.Equal(4, await fixture.UpstreamCalls(marker));
    }

    [Fact]
    public async Task Key_order_whitespace_and_number_spelling_do_not_change_the_key()
    {
        using var http = fixture.Gateway.Http();
        var marker = CacheFixture.Marker();
        var tools = """[{"type":"function","function":{"name":"lookup","description":"Looks up","parameters":{"type":"object","properties":{"q":{"type":"string","maxLength":50}}}}}]""";
        var respelled = """[ { "function" : { "parameters" : { "properties" : { "q" : { "maxLength" : 5.0E1 , "type" : "string" } } , "type" : "object" } , "description" : "Looks up" , "name" : "lookup" } , "type" : "function" } ]""";

        var first = await Post(http, ChatPath, $$"""{"model":"cached","temperature":0.5,"messages":[{"role":"user","content":"Spelling {{marker}}"}],"tools":{{tools}}}""");
        var second = await Post(http, ChatPath, $$"""
            {
              "tools" : {{respelled}},
              "messages" : [ { "content" : "Spelling {{marker}}", "role" : "user" } ],
              "temperature" : 5e-1,
              "model" : "cached"
            }
            """);

        Assert.Equal(("miss", "hit"), (first.Cache, second.Cache));
        Assert.Equal(1, await fixture.UpstreamCalls(marker));
    }

    [Fact]
    public async Task Twenty_concurrent_identical_misses_make_one_upstream_call()
    {
        using var http = fixture.Gateway.Http();
        var marker = CacheFixture.Marker();
        await fixture.Upstream.SetFault("[sim:hold]");
        try
        {
            var calls = Enumerable.Range(0, 20).Select(_ => Post(http, ChatPath, Chat("cached", "Concurrent " + marker))).ToList();
            await Eventually.Get(async () => await fixture.UpstreamCalls(marker) > 0 ? "reached" : null);
            await fixture.Upstream.SetFault(string.Empty);
            var outcomes = await Task.WhenAll(calls);

            Assert.All(outcomes, outcome => Assert.Equal(200, outcome.Status));
            Assert.Equal(1, outcomes.Count(o => o.Cache == "miss"));
            Assert.Equal(19, outcomes.Count(o => o.Cache == "hit"));
            Assert.Single(outcomes.Select(o => o.Text).Distinct());
            Assert.Equal(1, await fixture.UpstreamCalls(marker));
        }
        finally
        {
            await fixture.Upstream.SetFault(string.Empty);
        }
    }

    [Fact]
    public async Task A_streamed_hit_replays_the_same_text_chunks_tool_call_deltas_and_usage()
    {
        using var http = fixture.Gateway.Http();
        var marker = CacheFixture.Marker();
        var tools = ""","tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]""";
        var plain = Chat("cached", "A longer story please [sim:tokens=40] " + marker, ""","stream":true,"stream_options":{"include_usage":true}""");
        var calling = Chat("cached", "Weather in Lisbon? [sim:call=get_weather] " + marker, ""","stream":true,"stream_options":{"include_usage":true}""" + tools);

        var first = await Post(http, ChatPath, plain);
        var second = await Post(http, ChatPath, plain);
        var firstCall = await Post(http, ChatPath, calling);
        var secondCall = await Post(http, ChatPath, calling);

        Assert.Equal(("miss", "hit", "miss", "hit"), (first.Cache, second.Cache, firstCall.Cache, secondCall.Cache));
        Assert.True(Deltas(first).Count > 3, "the answer streamed in several pieces");
        Assert.Equal(Deltas(first), Deltas(second));
        Assert.Equal(first.Events.Count, second.Events.Count);
        Assert.Equal(Usage(first), Usage(second));
        Assert.NotNull(Usage(second));
        Assert.Contains("get_weather", ToolCallDeltas(firstCall));
        Assert.Equal(ToolCallDeltas(firstCall), ToolCallDeltas(secondCall));
        Assert.Equal(firstCall.Events.Count, secondCall.Events.Count);
        Assert.Equal(2, await fixture.UpstreamCalls(marker));
    }

    [Fact]
    public async Task A_streamed_response_hit_replays_the_same_text_deltas()
    {
        using var http = fixture.Gateway.Http();
        var marker = CacheFixture.Marker();
        var body = $$"""{"model":"cached","stream":true,"input":"A story in pieces [sim:tokens=30] {{marker}}"}""";

        var first = await Post(http, "/v1/responses", body);
        var second = await Post(http, "/v1/responses", body);

        static List<string> TextDeltas(CallOutcome outcome) => [.. outcome.Events.Select(e => JsonDocument.Parse(e).RootElement)
            .Where(e => e.TryGetProperty("type", out var type) && type.GetString() == "response.output_text.delta")
            .Select(e => e.GetProperty("delta").GetString()!)];

        Assert.Equal(("miss", "hit"), (first.Cache, second.Cache));
        Assert.True(TextDeltas(first).Count > 3);
        Assert.Equal(TextDeltas(first), TextDeltas(second));
        Assert.Equal(first.Events.Count, second.Events.Count);
        Assert.Equal(1, await fixture.UpstreamCalls(marker));
    }

    [Fact]
    public async Task A_conversation_that_moved_on_is_a_miss_and_a_hit_appends_the_turn_like_a_model_answer()
    {
        using var http = fixture.Gateway.Http();
        var marker = CacheFixture.Marker();
        var first = await NewConversation(http);
        var second = await NewConversation(http);
        string Turn(string conversation) => $$"""{"model":"cached","conversation":"{{conversation}}","input":"Hello there {{marker}}"}""";

        var opening = await Post(http, "/v1/responses", Turn(first));
        var sameState = await Post(http, "/v1/responses", Turn(second));
        var movedOn = await Post(http, "/v1/responses", Turn(first));
        var items = JsonDocument.Parse(await http.GetStringAsync(new Uri($"/v1/conversations/{second}/items?order=asc", UriKind.Relative))).RootElement.GetProperty("data");

        Assert.Equal(("miss", "hit", "miss"), (opening.Cache, sameState.Cache, movedOn.Cache));
        Assert.Equal(OutputText(opening), OutputText(sameState));
        Assert.Equal(["user", "assistant"], items.EnumerateArray().Select(item => item.GetProperty("role").GetString()));
        Assert.Equal(OutputText(opening), items[1].GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal(2, await fixture.UpstreamCalls(marker));
    }

    [Fact]
    public async Task No_store_neither_reads_nor_writes_and_no_cache_skips_the_lookup_but_stores()
    {
        using var http = fixture.Gateway.Http();
        var marker = CacheFixture.Marker();
        var body = Chat("cached", "Directives " + marker);

        var noStore = await Post(http, ChatPath, body, "no-store");
        var afterNoStore = await Post(http, ChatPath, body);
        var noStoreAgain = await Post(http, ChatPath, body, "no-store");
        var noCache = await Post(http, ChatPath, body, "no-cache");
        var afterNoCache = await Post(http, ChatPath, body);

        Assert.Equal(["bypass", "miss", "bypass", "bypass", "hit"], new[] { noStore, afterNoStore, noStoreAgain, noCache, afterNoCache }.Select(o => o.Cache));
        Assert.Equal(4, await fixture.UpstreamCalls(marker));
    }

    [Fact]
    public async Task An_answer_expires_after_its_ttl()
    {
        using var http = fixture.Gateway.Http();
        var marker = CacheFixture.Marker();
        var body = Chat("cached", "Expiring " + marker);

        var first = await Post(http, ChatPath, body);
        fixture.Clock.Advance(TimeSpan.FromSeconds(599));
        var within = await Post(http, ChatPath, body);
        fixture.Clock.Advance(TimeSpan.FromSeconds(2));
        var after = await Post(http, ChatPath, body);

        Assert.Equal(("miss", "hit", "miss"), (first.Cache, within.Cache, after.Cache));
        Assert.Equal(2, await fixture.UpstreamCalls(marker));
    }

    [Fact]
    public async Task A_failed_or_cut_answer_is_never_stored()
    {
        using var http = fixture.Gateway.Http();
        var marker = CacheFixture.Marker();
        var cut = Chat("cached", "Cut short [sim:cut=3] " + marker, ""","stream":true""");

        var first = await Post(http, ChatPath, cut);
        var second = await Post(http, ChatPath, cut);

        Assert.DoesNotContain("[DONE]", first.Events);
        Assert.Equal(("miss", "miss"), (first.Cache, second.Cache));
    }

    [Fact]
    public async Task Purging_by_key_alias_or_tenant_and_a_new_route_version_end_hits()
    {
        using var admin = fixture.Gateway.Http();
        var tenants = new TenantClient(admin);
        var tenant = await tenants.CreateTenant();
        var (_, secret) = await tenants.CreateKey(tenant, "tenant_admin");
        using var http = fixture.Gateway.Http(secret);
        var marker = CacheFixture.Marker();
        async Task<CallOutcome> Ask(string question) => await Post(http, ChatPath, Chat("cached", question + " " + marker));
        async Task<string> Cache(string question) => (await Ask(question)).Cache ?? "none";

        var one = await Ask("one");
        await Ask("two");
        Assert.Equal(["hit", "hit"], [await Cache("one"), await Cache("two")]);

        var purgedKey = await tenants.Post($"/v1/admin/tenants/{tenant}/cache/purge", $$"""{"key":"{{one.Key}}"}""");
        Assert.Equal(["miss", "hit"], [await Cache("one"), await Cache("two")]);

        var purgedAlias = await tenants.Post($"/v1/admin/tenants/{tenant}/cache/purge", """{"alias":"cached"}""");
        Assert.Equal(["miss", "miss"], [await Cache("one"), await Cache("two")]);

        var purgedAll = await tenants.Post($"/v1/admin/tenants/{tenant}/cache/purge");
        Assert.Equal(["miss", "hit"], [await Cache("one"), await Cache("one")]);

        // A new version of the route (here the tenant's own, with the same deployment) stops hits on the old version's entries.
        var route = JsonDocument.Parse(await admin.GetStringAsync(new Uri($"/v1/admin/tenants/{tenant}/routes/cached", UriKind.Relative))).RootElement.GetProperty("config");
        using var put = await admin.PutAsync($"/v1/admin/tenants/{tenant}/routes/cached", Api.ChatCompletionsTests.Json(route.GetRawText()));
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        Assert.Equal(["miss", "hit"], [await Cache("one"), await Cache("one")]);

        Assert.Equal(1, purgedKey.GetProperty("purged").GetInt32());
        Assert.Equal(2, purgedAlias.GetProperty("purged").GetInt32());
        Assert.Equal(2, purgedAll.GetProperty("purged").GetInt32());
    }

    [Fact]
    public async Task A_hit_is_admitted_as_a_request_but_uses_no_tokens_and_the_usage_report_counts_it_with_the_cost_it_saved()
    {
        using var admin = fixture.Gateway.Http();
        var tenants = new TenantClient(admin);
        var tenant = await tenants.CreateTenant(limits: new { requests_per_minute = 2 });
        var (keyId, secret) = await tenants.CreateKey(tenant, "tenant_admin");
        using var http = fixture.Gateway.Http(secret);
        var body = Chat("cached", "Admitted " + CacheFixture.Marker());

        var miss = await Post(http, ChatPath, body);
        var hit = await Post(http, ChatPath, body);
        var refused = await Post(http, ChatPath, body);
        var report = await tenants.Get($"/v1/usage?group_by=key,model&tenant={tenant}");
        var row = report.GetProperty("data").EnumerateArray().Single();

        Assert.Equal(("miss", "hit"), (miss.Cache, hit.Cache));
        Assert.Equal(429, refused.Status);
        Assert.Equal(keyId, row.GetProperty("key_id").GetString());
        Assert.Equal(2, row.GetProperty("requests").GetInt64());
        Assert.Equal(1, row.GetProperty("cache_hits").GetInt64());
        Assert.Equal(miss.Body.GetProperty("usage").GetProperty("prompt_tokens").GetInt64(), row.GetProperty("input_tokens").GetInt64());
        Assert.True(row.GetProperty("saved_cost_usd").GetDecimal() > 0);
        Assert.Equal(row.GetProperty("cost_usd").GetDecimal(), row.GetProperty("saved_cost_usd").GetDecimal());
    }

    [Fact]
    public async Task A_tenant_default_caches_routes_without_a_policy_and_a_route_policy_wins()
    {
        using var admin = fixture.Gateway.Http();
        var tenants = new TenantClient(admin);
        var tenant = TenantClient.NewTenantId();
        await tenants.Post("/v1/admin/tenants", $$$"""{"id":"{{{tenant}}}","cache":{"mode":"exact","ttl_seconds":60}}""");
        var (_, secret) = await tenants.CreateKey(tenant);
        using var http = fixture.Gateway.Http(secret);
        var marker = CacheFixture.Marker();

        var plain = new[] { await Post(http, ChatPath, Chat("plain", "Default " + marker)), await Post(http, ChatPath, Chat("plain", "Default " + marker)) };
        using var put = await admin.PutAsync($"/v1/admin/tenants/{tenant}/routes/plain", Api.ChatCompletionsTests.Json(
            """{"deployments":[{"name":"plain-upstream","credential":"upstream","upstream_model":"sim-upstream"}],"cache":{"mode":"off"}}"""));
        var off = new[] { await Post(http, ChatPath, Chat("plain", "Off " + marker)), await Post(http, ChatPath, Chat("plain", "Off " + marker)) };
        var shown = await tenants.Get($"/v1/admin/tenants/{tenant}");

        var route = JsonDocument.Parse(await put.Content.ReadAsStringAsync()).RootElement;
        Assert.True(put.IsSuccessStatusCode, route.GetRawText());
        Assert.Equal("off", route.GetProperty("config").GetProperty("cache").GetProperty("mode").GetString());
        Assert.Equal(["miss", "hit"], plain.Select(o => o.Cache));
        Assert.Equal(["bypass", "bypass"], off.Select(o => o.Cache));
        Assert.Equal("""{"mode":"exact","ttl_seconds":60,"scope":"tenant"}""", shown.GetProperty("cache").GetRawText());
    }

    [Fact]
    public async Task A_cache_policy_that_is_wrong_is_refused_naming_its_field()
    {
        using var admin = fixture.Gateway.Http();

        var mode = await Post(admin, "/v1/admin/tenants", $$$"""{"id":"{{{TenantClient.NewTenantId()}}}","cache":{"mode":"sometimes"}}""");
        using var similarity = await admin.PutAsync("/v1/admin/tenants/default/routes/wrong", Api.ChatCompletionsTests.Json(
            """{"deployments":[{"name":"x","provider":"simulated"}],"cache":{"mode":"semantic","similarity":1.5}}"""));
        var similarityBody = JsonDocument.Parse(await similarity.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal((400, "cache.mode"), (mode.Status, mode.Body.GetProperty("error").GetProperty("param").GetString()));
        Assert.Equal(400, (int)similarity.StatusCode);
        Assert.Equal("cache.similarity", similarityBody.GetProperty("error").GetProperty("param").GetString());
    }

    private static async Task<string> NewConversation(HttpClient http)
    {
        using var response = await http.PostAsync("/v1/conversations", Api.ChatCompletionsTests.Json("{}"));
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
    }

    private static string OutputText(CallOutcome outcome) =>
        outcome.Body.GetProperty("output").EnumerateArray().Last().GetProperty("content")[0].GetProperty("text").GetString()!;

    private static List<string> Deltas(CallOutcome outcome) => [.. outcome.Events.Where(e => e != "[DONE]")
        .Select(e => JsonDocument.Parse(e).RootElement)
        .Where(e => e.GetProperty("choices").GetArrayLength() > 0 && e.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String)
        .Select(e => e.GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString()!)];

    private static string ToolCallDeltas(CallOutcome outcome) => string.Join('\n', outcome.Events.Where(e => e != "[DONE]")
        .Select(e => JsonDocument.Parse(e).RootElement)
        .Where(e => e.GetProperty("choices").GetArrayLength() > 0 && e.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("tool_calls", out _))
        .Select(e => e.GetProperty("choices")[0].GetProperty("delta").GetProperty("tool_calls").GetRawText()));

    private static string? Usage(CallOutcome outcome) => outcome.Events.Where(e => e != "[DONE]")
        .Select(e => JsonDocument.Parse(e).RootElement)
        .Where(e => e.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object)
        .Select(e => e.GetProperty("usage").GetRawText()).SingleOrDefault();
}
