using System.Net;
using System.Text;
using System.Text.Json;
using Conversations.Guardrails;
using Conversations.Tests.Api;
using Conversations.Tests.Infrastructure;
using Conversations.Tests.Tenancy;
using OpenAI.Chat;

namespace Conversations.Tests.Guardrails;

/// <summary>
/// PII guardrails end to end: a tenant's policy set through the admin API, calls through real HTTP to the simulated
/// upstream, which records what the model received. In mask and redact modes no raw value of the generated corpus
/// reaches it, through chat completions, responses, streams and conversation turns; masked values come back to the
/// client (the simulated model echoes what it was told), whole and streamed.
/// </summary>
public sealed class PiiGuardrailTests : UpstreamGatewayTest
{
    private const int PerRequest = 10;

    [Fact]
    public async Task In_mask_mode_no_raw_value_of_the_corpus_reaches_the_model_and_the_client_gets_its_values_back()
    {
        var chat = Gateway.OpenAI(await GuardedTenant.MemberOf(Gateway, new { pii = new { action = "mask" } })).GetChatClient("remote");
        var leaked = new List<string>();
        var notRestored = 0;
        foreach (var (said, values) in Batches())
        {
            ChatCompletion answer = await chat.CompleteChatAsync([new UserChatMessage(said)]);
            var sent = (await Upstream.ReceivedRequests())[^1].GetRawText();
            leaked.AddRange(values.Where(value => sent.Contains(JsonText(value), StringComparison.Ordinal)));
            notRestored += answer.Content[0].Text.EndsWith("You said: " + said, StringComparison.Ordinal) ? 0 : 1;
        }

        Assert.True(leaked.Count == 0, $"{leaked.Count} raw values reached the model, e.g. {string.Join(" | ", leaked.Take(3))}");
        Assert.Equal(0, notRestored);
    }

    [Fact]
    public async Task A_bootstrap_key_from_configuration_is_held_to_its_tenants_guardrails()
    {
        var tenants = new TenantClient(Gateway.Http());
        await tenants.CreateTenant(id: "other"); // the tenant of the configured key GatewayFactory.OtherTenantKey
        await tenants.Post("/v1/admin/tenants/other", JsonSerializer.Serialize(new { guardrails = new { pii = new { action = "redact" } } }));
        var chat = Gateway.OpenAI(GatewayFactory.OtherTenantKey).GetChatClient("remote");
        var (said, values) = Batches().First();

        await chat.CompleteChatAsync([new UserChatMessage(said)]);

        var sent = (await Upstream.ReceivedRequests())[^1].GetRawText();
        Assert.DoesNotContain(values, value => sent.Contains(JsonText(value), StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_stream_restores_placeholders_split_across_its_chunks()
    {
        var chat = Gateway.OpenAI(await GuardedTenant.MemberOf(Gateway, new { pii = new { action = "mask" } })).GetChatClient("remote");
        var checkedBatches = 0;
        foreach (var (said, values) in Batches().Where((_, i) => i % 7 == 0))
        {
            var streamed = new StringBuilder();
            await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage(said)]))
            {
                foreach (var part in update.ContentUpdate)
                {
                    streamed.Append(part.Text);
                }
            }

            var sent = (await Upstream.ReceivedRequests())[^1].GetRawText();
            Assert.DoesNotContain(values, value => sent.Contains(JsonText(value), StringComparison.Ordinal));
            Assert.EndsWith("You said: " + said, streamed.ToString(), StringComparison.Ordinal);
            checkedBatches++;
        }

        Assert.True(checkedBatches >= PiiKinds.All.Count * 5);
    }

    [Fact]
    public async Task In_redact_mode_responses_send_and_return_only_the_redacted_text()
    {
        using var http = Gateway.Http(await GuardedTenant.MemberOf(Gateway, new { pii = new { action = "redact" } }));
        var leaked = 0;
        foreach (var (said, values) in Batches().Where((_, i) => i % 5 == 0))
        {
            using var response = await http.PostAsync("/v1/responses", ChatCompletionsTests.Json(JsonSerializer.Serialize(new { model = "remote", input = said })));
            var body = await response.Content.ReadAsStringAsync();
            var sent = (await Upstream.ReceivedRequests())[^1].GetRawText();

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            leaked += values.Count(value => sent.Contains(JsonText(value), StringComparison.Ordinal) || body.Contains(JsonText(value), StringComparison.Ordinal));
            Assert.Contains("[", sent, StringComparison.Ordinal);
        }

        Assert.Equal(0, leaked);
    }

    [Fact]
    public async Task A_conversation_stored_redacted_keeps_no_raw_value_while_its_turn_answers_with_them()
    {
        using var http = Gateway.Http(await GuardedTenant.MemberOf(Gateway, new { pii = new { action = "mask", store = "redacted" } }));
        using var created = await http.PostAsync("/v1/conversations", ChatCompletionsTests.Json(
            """{"items":[{"type":"message","role":"user","content":"Earlier: my card is 4111 1111 1111 1111"}]}"""));
        var conversation = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();

        using var turn = await http.PostAsync("/v1/responses", ChatCompletionsTests.Json(
            $$"""{"model":"remote","conversation":"{{conversation}}","input":"Mail me at zoe@example.com please"}"""));
        var answer = await turn.Content.ReadAsStringAsync();
        var items = await http.GetStringAsync(new Uri($"/v1/conversations/{conversation}/items", UriKind.Relative));
        var sent = (await Upstream.ReceivedRequests())[^1].GetRawText();

        Assert.Equal(HttpStatusCode.OK, turn.StatusCode);
        Assert.Contains("You said: Mail me at zoe@example.com please", answer, StringComparison.Ordinal);
        Assert.Contains("<EMAIL_1>", sent, StringComparison.Ordinal);
        Assert.DoesNotContain("zoe@example.com", sent, StringComparison.Ordinal);
        Assert.DoesNotContain("4111", sent, StringComparison.Ordinal);
        Assert.DoesNotContain("zoe@example.com", items, StringComparison.Ordinal);
        Assert.DoesNotContain("4111", items, StringComparison.Ordinal);
        Assert.Contains("[EMAIL]", items, StringComparison.Ordinal);
        Assert.Contains("[CREDIT_CARD]", items, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Block_refuses_the_call_naming_the_guardrail_and_nothing_reaches_the_model()
    {
        using var http = Gateway.Http(await GuardedTenant.MemberOf(Gateway, new { pii = new { action = "mask", actions = new Dictionary<string, string> { ["secret"] = "block" } } }));
        var before = (await Upstream.ReceivedRequests()).Count;

        using var refused = await http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(
            """{"model":"remote","messages":[{"role":"user","content":"here is my key AKIAIOSFODNN7EXAMPLE"}]}"""));
        using var streamed = await http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(
            """{"model":"remote","stream":true,"messages":[{"role":"user","content":"here is my key AKIAIOSFODNN7EXAMPLE"}]}"""));
        using var passed = await http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(
            """{"model":"remote","messages":[{"role":"user","content":"mail a@example.com"}]}"""));

        foreach (var response in new[] { refused, streamed })
        {
            var error = await response.AssertOpenAIError(HttpStatusCode.BadRequest);
            Assert.Equal("guardrail_blocked", error.GetProperty("code").GetString());
            Assert.Contains("'pii' guardrail", error.GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.DoesNotContain("AKIA", error.GetRawText(), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.OK, passed.StatusCode);
        Assert.Equal("pii.email=mask", passed.Headers.GetValues("x-conversations-guardrails").Single());
        Assert.Equal(before + 1, (await Upstream.ReceivedRequests()).Count);
    }

    [Fact]
    public async Task Guardrails_are_set_on_tenants_and_keys_shown_back_and_a_bad_policy_names_its_field()
    {
        using var admin = Gateway.Http();
        var tenants = new TenantClient(admin);
        var tenant = await tenants.CreateTenant();
        var set = await tenants.Post($"/v1/admin/tenants/{tenant}",
            """{"guardrails":{"pii":{"action":"redact","entities":["email","phone"],"patterns":[{"name":"employee_id","pattern":"EMP-[0-9]{6}","action":"block"}]},"injection":{"action":"flag"}}}""");
        var (key, _) = await tenants.CreateKey(tenant, extra: new { guardrails = new { injection = new { action = "block" } } });
        var keyUpdated = await tenants.Post($"/v1/admin/tenants/{tenant}/keys/{key}", """{"guardrails":{"pii":{"action":"block","entities":["secret"]}}}""");
        using var unknownEntity = await admin.PostAsync($"/v1/admin/tenants/{tenant}", ChatCompletionsTests.Json("""{"guardrails":{"pii":{"entities":["name"]}}}"""));
        using var badAction = await admin.PostAsync($"/v1/admin/tenants/{tenant}", ChatCompletionsTests.Json("""{"guardrails":{"injection":{"action":"mask"}}}"""));
        using var badPattern = await admin.PostAsync($"/v1/admin/tenants/{tenant}", ChatCompletionsTests.Json("""{"guardrails":{"pii":{"patterns":[{"name":"x","pattern":"(a)\\1"}]}}}"""));

        var pii = set.GetProperty("guardrails").GetProperty("pii");
        Assert.Equal("redact", pii.GetProperty("action").GetString());
        Assert.Equal(["email", "phone"], pii.GetProperty("entities").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("block", pii.GetProperty("patterns")[0].GetProperty("action").GetString());
        Assert.Equal("as_sent", pii.GetProperty("store").GetString());
        Assert.Equal(set.GetProperty("guardrails").GetRawText(), (await tenants.Get($"/v1/admin/tenants/{tenant}")).GetProperty("guardrails").GetRawText());
        Assert.Equal("block", keyUpdated.GetProperty("guardrails").GetProperty("pii").GetProperty("action").GetString());
        Assert.False(keyUpdated.GetProperty("guardrails").TryGetProperty("injection", out _)); // replaced whole
        await unknownEntity.AssertOpenAIError(HttpStatusCode.BadRequest, "guardrails.pii.entities");
        await badAction.AssertOpenAIError(HttpStatusCode.BadRequest, "guardrails.injection.action");
        await badPattern.AssertOpenAIError(HttpStatusCode.BadRequest, "guardrails.pii.patterns[0].pattern");
        Assert.Equal(set.GetProperty("guardrails").GetRawText(), (await tenants.Get($"/v1/admin/tenants/{tenant}")).GetProperty("guardrails").GetRawText());
    }

    [Fact]
    public async Task A_key_policy_narrows_its_tenant_policy_at_once()
    {
        using var admin = Gateway.Http();
        var tenants = new TenantClient(admin);
        var tenant = await tenants.CreateTenant();
        await tenants.Post($"/v1/admin/tenants/{tenant}", """{"guardrails":{"pii":{"action":"mask","entities":["email"]}}}""");
        var (key, secret) = await tenants.CreateKey(tenant);
        using var http = Gateway.Http(secret);
        const string Body = """{"model":"remote","messages":[{"role":"user","content":"mail a@example.com"}]}""";

        using var masked = await http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(Body));
        await tenants.Post($"/v1/admin/tenants/{tenant}/keys/{key}", """{"guardrails":{"pii":{"action":"block","entities":["email"]}}}""");
        using var blocked = await http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(Body));

        Assert.Equal(HttpStatusCode.OK, masked.StatusCode);
        Assert.Equal("guardrail_blocked", (await blocked.AssertOpenAIError(HttpStatusCode.BadRequest)).GetProperty("code").GetString());
    }

    /// <summary>The whole corpus, every kind, <see cref="PerRequest"/> values in sentences to a message.</summary>
    private static IEnumerable<(string Said, IReadOnlyList<string> Values)> Batches() =>
        PiiKinds.All.SelectMany(kind => PiiCorpus.Values(kind).Chunk(PerRequest).Select(values =>
            (string.Join(" ", values.Select(PiiCorpus.InSentence)), (IReadOnlyList<string>)values)));

    /// <summary>A value as it reads inside a JSON string (a PEM block's line breaks escaped).</summary>
    private static string JsonText(string value) => JsonEncodedText.Encode(value, System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping).Value;
}
