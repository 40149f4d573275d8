using System.Net;
using System.Text.Json;
using Conversations.Tests.Api;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Context;

/// <summary>
/// What a conversation turn sends upstream, seen by the simulated upstream server over real HTTP:
/// the recent turns that fit the policy, the conversation's facts, and the newest input, with a
/// preview endpoint that says what was left out and why.
/// </summary>
public sealed class ConversationContextTests : UpstreamGatewayTest
{

    [Fact]
    public async Task A_long_conversation_sends_only_its_recent_turns_and_the_preview_says_what_was_left_out_and_why()
    {
        using var http = Gateway.Http();
        var id = await Create(http, turns: 15, policy: """{"window_turns":3}""");

        var sent = await Turn(http, id, "newest question");
        var preview = await Preview(http, id);

        Assert.Equal(7, sent.Count); // three whole turns and the new input
        Assert.Equal(("user", "question 12"), sent[0]);
        Assert.Equal(("user", "newest question"), sent[^1]);
        var leftOut = preview.GetProperty("left_out").EnumerateArray().ToList();
        Assert.Equal(26, leftOut.Count); // 32 items now, the last three turns in the window
        Assert.All(leftOut, l => Assert.Equal("turn_limit", l.GetProperty("reason").GetString()));
        var window = preview.GetProperty("sections").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "window");
        Assert.Equal(6, window.GetProperty("item_ids").GetArrayLength());
        Assert.True(preview.GetProperty("total_tokens").GetInt32() <= preview.GetProperty("budget_tokens").GetInt32());
    }

    [Fact]
    public async Task A_requests_policy_overrides_the_conversations_and_a_token_budget_keeps_the_newest_turns()
    {
        using var http = Gateway.Http();
        var id = await Create(http, turns: 15, policy: """{"window_turns":10}""");

        var oneTurn = await Turn(http, id, "only the last turn", """ "context_policy":{"window_turns":1}, """);
        var tokenBound = await Turn(http, id, "within 120 tokens", """ "context_policy":{"max_tokens":120}, """);

        Assert.Equal([("user", "question 14"), ("assistant", "answer 14"), ("user", "only the last turn")], oneTurn);
        Assert.True(tokenBound.Count < 21 && tokenBound.Count >= 1);
        Assert.Equal(("user", "within 120 tokens"), tokenBound[^1]);
        Assert.True(Conversations.Providers.TokenCounter.Shared.CountPrompt(tokenBound.Select(m => m.Text)) <= 120);
    }

    [Fact]
    public async Task A_tenants_default_policy_applies_beneath_the_conversations_own()
    {
        var admin = new Tenancy.TenantClient(Gateway.Http());
        var tenant = await admin.CreateTenant();
        var (_, secret) = await admin.CreateKey(tenant);
        using var update = await Gateway.Http().PostAsync($"/v1/admin/tenants/{tenant}", ChatCompletionsTests.Json("""{"context_policy":{"window_turns":1}}"""));
        using var http = Gateway.Http(secret);
        var inherits = await Create(http, turns: 5);
        var overrides = await Create(http, turns: 5, policy: """{"window_turns":2}""");

        var tenantWindow = await Turn(http, inherits, "tenant default applies");
        var ownWindow = await Turn(http, overrides, "conversation policy wins");

        Assert.Equal(HttpStatusCode.OK, update.StatusCode);
        Assert.Equal(3, tenantWindow.Count); // one turn and the input
        Assert.Equal(5, ownWindow.Count); // two turns and the input
    }

    [Fact]
    public async Task Facts_reach_the_model_as_a_compact_section_and_are_read_and_written_through_the_api()
    {
        using var http = Gateway.Http();
        var id = await Create(http, turns: 1);

        using var set = await http.PostAsync($"/v1/conversations/{id}/state", ChatCompletionsTests.Json("""{"facts":{"name":"Ada","drink":"tea"}}"""));
        var sent = await Turn(http, id, "what do I drink?");
        using var removed = await http.PostAsync($"/v1/conversations/{id}/state", ChatCompletionsTests.Json("""{"facts":{"drink":null}}"""));
        var state = JsonDocument.Parse(await http.GetStringAsync(new Uri($"/v1/conversations/{id}/state", UriKind.Relative))).RootElement;

        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        Assert.Equal("system", sent[0].Role);
        Assert.Matches(@"^Known facts about this conversation, each with when it was stated:\n- drink: tea \(since \d{4}-\d\d-\d\d \d\d:\d\d UTC\)\n- name: Ada \(since [^)]+\)$", sent[0].Text);
        Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        Assert.Equal("""{"name":"Ada"}""", state.GetProperty("facts").GetRawText());
    }

    [Fact]
    public async Task With_truncation_disabled_a_conversation_over_budget_is_refused_and_nothing_is_appended()
    {
        using var http = Gateway.Http();
        var id = await Create(http, turns: 15);

        using var refused = await http.PostAsync("/v1/responses", ChatCompletionsTests.Json(
            $$$"""{"model":"remote","conversation":"{{{id}}}","input":"too much","truncation":"disabled","context_policy":{"max_tokens":100}}"""));
        var items = JsonDocument.Parse(await http.GetStringAsync(new Uri($"/v1/conversations/{id}/items?limit=100", UriKind.Relative))).RootElement;

        var error = await refused.AssertOpenAIError(HttpStatusCode.BadRequest, "input");
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
        Assert.Equal(30, items.GetProperty("data").GetArrayLength());
    }

    [Theory]
    [InlineData("/v1/conversations", """{"context_policy":{"window_turns":0}}""", "context_policy")]
    [InlineData("/v1/conversations", """{"context_policy":{"extractor":""}}""", "context_policy")]
    [InlineData("/v1/responses", """{"model":"remote","input":"x","truncation":"sometimes"}""", "truncation")]
    [InlineData("/v1/responses", """{"model":"remote","input":"x","context_policy":{"max_tokens":-5}}""", "context_policy")]
    [InlineData("/v1/responses", """{"model":"remote","input":"x","context_policy":{"truncation":"maybe"}}""", "context_policy.truncation")]
    public async Task Bad_policies_are_refused_with_the_field_named(string path, string body, string param)
    {
        using var http = Gateway.Http();

        using var response = await http.PostAsync(path, ChatCompletionsTests.Json(body));

        await response.AssertOpenAIError(HttpStatusCode.BadRequest, param);
    }

    [Fact]
    public async Task Bad_facts_and_previews_are_refused_with_the_field_named()
    {
        using var http = Gateway.Http();
        var id = await Create(http, turns: 0);

        using var badKey = await http.PostAsync($"/v1/conversations/{id}/state", ChatCompletionsTests.Json("""{"facts":{"no spaces":"x"}}"""));
        using var noModel = await http.GetAsync(new Uri($"/v1/conversations/{id}/context", UriKind.Relative));
        using var unknownModel = await http.GetAsync(new Uri($"/v1/conversations/{id}/context?model=nope", UriKind.Relative));

        await badKey.AssertOpenAIError(HttpStatusCode.BadRequest, "facts");
        await noModel.AssertOpenAIError(HttpStatusCode.BadRequest, "model");
        await unknownModel.AssertOpenAIError(HttpStatusCode.NotFound, "model");
    }

    [Fact]
    public async Task A_response_says_which_truncation_its_context_used()
    {
        using var http = Gateway.Http();
        var auto = await Create(http, turns: 1);
        var disabled = await Create(http, turns: 1, policy: """{"truncation":"disabled"}""");

        var turnDefault = await TruncationOf(http, $$"""{"model":"remote","conversation":"{{auto}}","input":"hi"}""");
        var turnDisabled = await TruncationOf(http, $$"""{"model":"remote","conversation":"{{disabled}}","input":"hi"}""");
        var requestDisabled = await TruncationOf(http, $$"""{"model":"remote","conversation":"{{auto}}","truncation":"disabled","input":"hi"}""");
        var stateless = await TruncationOf(http, """{"model":"remote","input":"hi"}""");

        Assert.Equal(["auto", "disabled", "disabled", "disabled"], new[] { turnDefault, turnDisabled, requestDisabled, stateless });
    }

    [Fact]
    public async Task A_streamed_turn_says_its_conversations_truncation_from_its_first_event()
    {
        using var http = Gateway.Http();
        var disabled = await Create(http, turns: 1, policy: """{"truncation":"disabled"}""");

        var completed = await Said(http, $$"""{"model":"remote","conversation":"{{disabled}}","stream":true,"input":"hi"}""");
        var failed = await Said(http, $$"""{"model":"remote","conversation":"{{disabled}}","stream":true,"input":"cut short [sim:cut=2]"}""");

        Assert.Equal([("response.created", "disabled"), ("response.in_progress", "disabled"), ("response.completed", "disabled")], completed);
        Assert.Equal([("response.created", "disabled"), ("response.in_progress", "disabled"), ("response.failed", "disabled")], failed);
    }

    /// <summary>Each event of a streamed response that carries the response: its type and the truncation it says.</summary>
    private static async Task<List<(string?, string?)>> Said(HttpClient http, string body)
    {
        using var response = await http.PostAsync("/v1/responses", ChatCompletionsTests.Json(body));
        return [.. (await response.Content.ReadAsStringAsync()).Split('\n')
            .Where(line => line.StartsWith("data: ", StringComparison.Ordinal))
            .Select(line => JsonDocument.Parse(line["data: ".Length..]).RootElement)
            .Where(e => e.TryGetProperty("response", out _))
            .Select(e => (e.GetProperty("type").GetString(), e.GetProperty("response").GetProperty("truncation").GetString()))];
    }

    private static async Task<string> TruncationOf(HttpClient http, string body)
    {
        using var response = await http.PostAsync("/v1/responses", ChatCompletionsTests.Json(body));
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var fetched = JsonDocument.Parse(await http.GetStringAsync(new Uri($"/v1/responses/{json.GetProperty("id").GetString()}", UriKind.Relative))).RootElement;
        Assert.Equal(json.GetProperty("truncation").GetString(), fetched.GetProperty("truncation").GetString()); // stored as answered
        return json.GetProperty("truncation").GetString()!;
    }

    /// <summary>A conversation with <paramref name="turns"/> question/answer turns (added 20 items at a time, OpenAI's limit).</summary>
    private static async Task<string> Create(HttpClient http, int turns, string? policy = null)
    {
        using var created = await http.PostAsync("/v1/conversations", ChatCompletionsTests.Json(policy is null ? "{}" : "{\"context_policy\":" + policy + "}"));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        var items = Enumerable.Range(0, turns).SelectMany(i => new[]
        {
            new { role = "user", content = $"question {i}" },
            new { role = "assistant", content = $"answer {i}" },
        });
        foreach (var batch in items.Chunk(20))
        {
            using var added = await http.PostAsync($"/v1/conversations/{id}/items", ChatCompletionsTests.Json(JsonSerializer.Serialize(new { items = batch })));
            Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        }

        return id;
    }

    private async Task<List<(string Role, string Text)>> Turn(HttpClient http, string id, string input, string extra = "")
    {
        using var turn = await http.PostAsync("/v1/responses", ChatCompletionsTests.Json(
            $$"""{"model":"remote","conversation":"{{id}}",{{extra}}"input":"{{input}}"}"""));
        Assert.True(turn.StatusCode == HttpStatusCode.OK, await turn.Content.ReadAsStringAsync());
        var request = (await Upstream.ReceivedRequests()).Last(r => r.GetRawText().Contains(input, StringComparison.Ordinal));
        return [.. request.GetProperty("messages").EnumerateArray().Select(m => (m.GetProperty("role").GetString()!, Text(m.GetProperty("content"))))];
    }

    private static async Task<JsonElement> Preview(HttpClient http, string id) =>
        JsonDocument.Parse(await http.GetStringAsync(new Uri($"/v1/conversations/{id}/context?model=remote", UriKind.Relative))).RootElement;

    private static string Text(JsonElement content) => content.ValueKind == JsonValueKind.String
        ? content.GetString()!
        : string.Concat(content.EnumerateArray().Select(part => part.GetProperty("text").GetString()));
}
