using System.ClientModel;
using System.Net;
using System.Text.Json;
using Conversations.Tests.Infrastructure;
using OpenAI.Responses;

namespace Conversations.Tests.Api;

/// <summary>
/// <c>include</c>, <c>store</c>, <c>truncation</c>, <c>parallel_tool_calls</c> and <c>metadata</c> on every way a response is
/// made: plain, streamed, in the background, as a conversation's turn and chained by <c>previous_response_id</c>, over real
/// HTTP against a simulated upstream whose window is small (the route "small": a window of 400 tokens, 100 of them kept for the answer).
/// </summary>
public sealed class ResponseFieldsTests : UpstreamGatewayTest
{
    private const string Tool = """{"type":"function","name":"lookup","description":"Looks a word up.","parameters":{"type":"object","properties":{"word":{"type":"string"}}}}""";

    public static TheoryData<string> Modes => ["plain", "stream", "background", "conversation", "previous"];

    protected override string[] UpstreamSettings => ["--Simulation:ContextWindow=400"];

    protected override void Configure(Dictionary<string, string?> settings)
    {
        foreach (var (key, value) in Upstream.GatewaySettings("small"))
        {
            settings[key] = value;
        }

        settings["Conversations:Routes:small:Deployments:0:ContextWindow"] = "400";
        settings["Conversations:Routes:small:Deployments:0:MaxOutputTokens"] = "100";
    }

    /// <summary>Six notes of about a hundred tokens each: together larger than the window.</summary>
    private static List<string> Notes => [.. Enumerable.Range(0, 6).Select(n => $"Note {n}: " + string.Concat(Enumerable.Repeat("alpha beta gamma delta ", 24)))];

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task Metadata_and_parallel_tool_calls_are_echoed_stored_and_sent_upstream_and_include_logprobs_gives_the_field(string mode)
    {
        using var http = Gateway.Http();
        var fields = $$"""
            "metadata":{"topic":"fields","mode":"{{mode}}"},"parallel_tool_calls":false,"include":["message.output_text.logprobs"],"tools":[{{Tool}}],"tool_choice":"auto"
            """;

        var (status, response) = await Run(http, mode, ["Say hello."], fields);
        var sent = (await Upstream.ReceivedRequests())[^1];
        var stored = await http.GetJson($"/v1/responses/{response.GetProperty("id").GetString()}");

        Assert.Equal(HttpStatusCode.OK, status);
        foreach (var shown in new[] { response, stored })
        {
            Assert.Equal("fields", shown.GetProperty("metadata").GetProperty("topic").GetString());
            Assert.Equal(mode, shown.GetProperty("metadata").GetProperty("mode").GetString());
            Assert.False(shown.GetProperty("parallel_tool_calls").GetBoolean());
            var message = shown.GetProperty("output").EnumerateArray().Single(item => item.GetProperty("type").GetString() == "message");
            Assert.Equal(JsonValueKind.Array, message.GetProperty("content")[0].GetProperty("logprobs").ValueKind);
        }

        Assert.False(sent.GetProperty("parallel_tool_calls").GetBoolean());
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task An_include_value_OpenAI_does_not_document_is_a_400_naming_include_and_nothing_is_called(string mode)
    {
        using var http = Gateway.Http();
        var before = (await Upstream.ReceivedRequests()).Count;

        var (status, error) = await Run(http, mode, ["Say hello."], "\"include\":[\"message.output_text.logprobs\",\"output_text.everything\"]");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("include", error.GetProperty("error").GetProperty("param").GetString());
        Assert.Contains("output_text.everything", error.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(before + (mode == "previous" ? 1 : 0), (await Upstream.ReceivedRequests()).Count); // the first response of a chain was made
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("stream")]
    [InlineData("conversation")]
    [InlineData("previous")]
    public async Task A_response_with_store_false_is_answered_but_cannot_be_retrieved_or_chained(string mode)
    {
        using var http = Gateway.Http();

        var (status, response) = await Run(http, mode, ["Remember the word teal."], "\"store\":false");
        var id = response.GetProperty("id").GetString();
        using var get = await http.GetAsync($"/v1/responses/{id}");
        using var chained = await http.PostAsync("/v1/responses", JsonHttp.Body($$"""{"model":"small","previous_response_id":"{{id}}","input":"Which word?"}"""));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.False(response.GetProperty("store").GetBoolean());
        Assert.Equal("completed", response.GetProperty("status").GetString());
        await get.AssertOpenAIError(HttpStatusCode.NotFound);
        await chained.AssertOpenAIError(HttpStatusCode.NotFound, "previous_response_id");
        if (mode == "conversation")
        {
            // OpenAI documents that a conversation's turn adds its input and output to the conversation; 'store' is about the response object.
            var items = await http.GetJson($"/v1/conversations/{response.GetProperty("conversation").GetProperty("id").GetString()}/items?order=asc");
            Assert.Contains(items.GetProperty("data").EnumerateArray(), item => item.GetProperty("role").GetString() == "user"
                && item.GetProperty("content")[0].GetProperty("text").GetString() == "Remember the word teal.");
            Assert.Equal("assistant", items.GetProperty("data").EnumerateArray().Last().GetProperty("role").GetString());
        }
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task Truncation_auto_drops_the_oldest_items_to_fit_the_window_and_disabled_refuses_with_a_400(string mode)
    {
        using var http = Gateway.Http();
        List<string> input = [.. Notes, "Which notes did you get?"];

        var (refusedStatus, refused) = await Run(http, mode, input, "\"truncation\":\"disabled\",");
        var (status, response) = await Run(http, mode, input, "\"truncation\":\"auto\",");
        var sent = (await Upstream.ReceivedRequests())[^1].GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("content").GetString()).ToList();

        Assert.Equal(HttpStatusCode.BadRequest, refusedStatus);
        Assert.Equal("context_length_exceeded", refused.GetProperty("error").GetProperty("code").GetString());

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("completed", response.GetProperty("status").GetString());
        Assert.Equal("auto", response.GetProperty("truncation").GetString());
        Assert.Equal("Which notes did you get?", sent[^1]);
        Assert.DoesNotContain(sent, text => text!.StartsWith("Note 0:", StringComparison.Ordinal)); // the oldest left first
        Assert.Contains(sent, text => text!.StartsWith("Note 5:", StringComparison.Ordinal)); // the newest stayed
        Assert.InRange(response.GetProperty("usage").GetProperty("input_tokens").GetInt32(), 1, 300);
    }

    [Fact]
    public async Task The_official_SDK_sets_store_truncation_parallel_tool_calls_and_include_and_reads_them_back()
    {
        var responses = Gateway.OpenAI().GetResponsesClient();
        var options = new CreateResponseOptions("small", [.. Notes.Select(note => ResponseItem.CreateUserMessageItem(note)), ResponseItem.CreateUserMessageItem("Which notes?")])
        {
            StoredOutputEnabled = false,
            TruncationMode = ResponseTruncationMode.Auto,
            ParallelToolCallsEnabled = false,
        };
        options.IncludedProperties.Add(IncludedResponseProperty.FileSearchCallResults);

        ResponseResult result = await responses.CreateResponseAsync(options);
        var missing = await Assert.ThrowsAsync<ClientResultException>(() => responses.GetResponseAsync(result.Id));

        Assert.Equal(ResponseStatus.Completed, result.Status);
        Assert.Equal(ResponseTruncationMode.Auto, result.TruncationMode);
        Assert.False(result.ParallelToolCallsEnabled);
        Assert.Equal(404, missing.Status);
    }

    /// <summary>
    /// Makes a response of <paramref name="input"/> (user messages) in <paramref name="mode"/> with <paramref name="fields"/>
    /// (JSON members, a trailing comma allowed): its status and its final JSON (the error body when refused).
    /// </summary>
    private static async Task<(HttpStatusCode Status, JsonElement Body)> Run(HttpClient http, string mode, IReadOnlyList<string> input, string fields)
    {
        fields = fields.Trim().TrimEnd(',');
        var extra = fields.Length == 0 ? string.Empty : "," + fields;
        string Items(IEnumerable<string> texts) => JsonSerializer.Serialize(texts.Select(text => new { role = "user", content = text }));
        var last = Items(input.TakeLast(1));
        var body = mode switch
        {
            "plain" => $$"""{"model":"small","input":{{Items(input)}}{{extra}}}""",
            "stream" => $$"""{"model":"small","stream":true,"input":{{Items(input)}}{{extra}}}""",
            "background" => $$"""{"model":"small","background":true,"input":{{Items(input)}}{{extra}}}""",
            "conversation" => $$"""{"model":"small","conversation":"{{await Conversation(http, input.SkipLast(1))}}","input":{{last}}{{extra}}}""",
            _ => $$"""{"model":"small","previous_response_id":"{{await First(http, input.SkipLast(1))}}","input":{{last}}{{extra}}}""",
        };

        using var answer = await http.PostAsync("/v1/responses", JsonHttp.Body(body));
        var text = await answer.Content.ReadAsStringAsync();
        if (!answer.IsSuccessStatusCode)
        {
            return (answer.StatusCode, JsonElement.Parse(text));
        }

        if (mode == "stream")
        {
            var completed = text.Split('\n').Where(line => line.StartsWith("data: ", StringComparison.Ordinal))
                .Select(line => JsonElement.Parse(line["data: ".Length..]))
                .Last(e => e.GetProperty("type").GetString() is "response.completed" or "response.failed");
            return (answer.StatusCode, completed.GetProperty("response"));
        }

        var response = JsonElement.Parse(text);
        if (mode == "background")
        {
            var id = response.GetProperty("id").GetString();
            response = await Eventually.Get<JsonElement>(async () =>
                await http.GetJson($"/v1/responses/{id}") is var polled && polled.GetProperty("status").GetString() is "completed" or "failed" or "incomplete" ? polled : (JsonElement?)null);
        }

        return (answer.StatusCode, response);
    }

    private static async Task<string> Conversation(HttpClient http, IEnumerable<string> earlier)
    {
        var items = JsonSerializer.Serialize(earlier.Select(text => new { type = "message", role = "user", content = text }));
        return (await http.PostJson("/v1/conversations", $$"""{"items":{{items}}}""")).GetProperty("id").GetString()!;
    }

    /// <summary>The first response of a chain: the earlier items, cut to the window (the chain's first link must fit to be stored).</summary>
    private static async Task<string> First(HttpClient http, IEnumerable<string> earlier)
    {
        var texts = earlier.ToList();
        var items = JsonSerializer.Serialize((texts.Count > 0 ? texts : ["Let us start."]).Select(text => new { role = "user", content = text }));
        return (await http.PostJson("/v1/responses", $$"""{"model":"small","truncation":"auto","input":{{items}}}""")).GetProperty("id").GetString()!;
    }
}
