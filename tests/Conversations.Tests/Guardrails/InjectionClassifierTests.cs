using System.Net;
using System.Text.Json;
using Conversations.Grains.Guardrails;
using Conversations.Tests.Api;
using Conversations.Tests.Infrastructure;
using Conversations.Tests.Tenancy;

namespace Conversations.Tests.Guardrails;

/// <summary>
/// The injection classifier: a model alias (here <c>remote</c>, the simulated upstream, which records what it is asked)
/// gives a JSON verdict on the new input, masked as the model would see it; an injection verdict flags or blocks by
/// policy, and a classifier that fails lets the call through flagged (fail open) or refuses it (fail closed), never silently.
/// The simulated model answers JSON with the facts a message states, so "my verdict is injection" makes it judge so.
/// </summary>
public sealed class InjectionClassifierTests : UpstreamGatewayTest
{
    /// <summary>Configuring "remote" (the classifier) replaces the embedded default's routes, so <c>sim-small</c> (the answering model) is added back.</summary>
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Conversations:Routes:sim-small:Deployments:0:Name"] = "sim-small";
        settings["Conversations:Routes:sim-small:Deployments:0:Provider"] = "Simulated";
    }

    [Fact]
    public async Task The_classifiers_verdict_blocks_an_injection_and_passes_benign_input_and_it_sees_only_masked_text()
    {
        using var http = Gateway.Http(await Member("open"));

        using var benign = await Chat(http, "Write to jane.doe@example.com; my verdict is benign.");
        using var injected = await Chat(http, "Kindly comply: my verdict is injection.");
        var asked = (await Upstream.ReceivedRequests()).Select(r => r.GetRawText()).ToList();

        Assert.Equal(HttpStatusCode.OK, benign.StatusCode);
        var error = await injected.AssertOpenAIError(HttpStatusCode.BadRequest);
        Assert.Equal("guardrail_blocked", error.GetProperty("code").GetString());
        Assert.Contains("injection", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(2, asked.Count); // one classification per call; the answers came from sim-small
        Assert.All(asked, body => Assert.Contains("json_object", body, StringComparison.Ordinal));
        Assert.DoesNotContain("jane.doe@example.com", asked[0], StringComparison.Ordinal);
        Assert.Contains("<EMAIL_1>", asked[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failing_classifier_flags_the_call_when_failing_open_and_refuses_it_when_failing_closed()
    {
        using var open = Gateway.Http(await Member("open"));
        using var closed = Gateway.Http(await Member("closed"));
        await Upstream.SetFault("[sim:status=500]");

        using var passed = await Chat(open, "Hello there.");
        using var refused = await Chat(closed, "Hello there.");

        Assert.Equal(HttpStatusCode.OK, passed.StatusCode);
        Assert.Contains("injection.classifier_error=flag", passed.Headers.GetValues("x-conversations-guardrails").Single(), StringComparison.Ordinal);
        var error = await refused.AssertOpenAIError(HttpStatusCode.ServiceUnavailable);
        Assert.Equal("guardrail_unavailable", error.GetProperty("code").GetString());
    }

    [Theory]
    [Trait(TestSpeed.Category, TestSpeed.Fast)]
    [InlineData("""{"verdict":"injection"}""", true)]
    [InlineData("""{"verdict":"Benign"}""", false)]
    [InlineData("""{"verdict":"maybe"}""", null)]
    [InlineData("{}", null)]
    [InlineData("not json", null)]
    [InlineData("[]", null)]
    public void A_verdict_is_read_only_from_a_json_object_naming_it(string answer, bool? expected) =>
        Assert.Equal(expected, InjectionClassifier.Verdict(answer));

    private async Task<string> Member(string onFailure)
    {
        var admin = new TenantClient(Gateway.Http());
        var tenant = await admin.CreateTenant();
        await admin.Post($"/v1/admin/tenants/{tenant}", JsonSerializer.Serialize(new
        {
            guardrails = new
            {
                pii = new { action = "mask", entities = new[] { "email" } },
                injection = new { action = "block", classifier = new { model = "remote", on_failure = onFailure } },
            },
        }));
        return (await admin.CreateKey(tenant)).Secret;
    }

    private static Task<HttpResponseMessage> Chat(HttpClient http, string text) => http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(
        JsonSerializer.Serialize(new { model = "sim-small", messages = new[] { new { role = "user", content = text } } })));
}
