using System.Net;
using System.Text.Json;
using Conversations.Tests.Infrastructure;
using OpenAI.Chat;

namespace Conversations.Tests.Api;

/// <summary>
/// JSON answers (<c>response_format</c> in Chat Completions, <c>text.format</c> in Responses) through the
/// gateway to an OpenAI-compatible upstream over HTTP. The simulated model answers JSON mode with the
/// facts the user states, so the answer can be parsed.
/// </summary>
public sealed class StructuredOutputTests : UpstreamGatewayTest
{
    private const string Schema = """{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}""";

    [Fact]
    public async Task A_json_schema_reaches_the_upstream_as_sent_and_the_answer_is_json()
    {
        var chat = Gateway.OpenAI().GetChatClient("remote");
        var options = new ChatCompletionOptions
        {
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("home", BinaryData.FromString(Schema), "Where the user lives.", jsonSchemaIsStrict: true),
        };

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("Hello, my city is Lisbon.")], options);

        Assert.Equal("Lisbon", JsonDocument.Parse(completion.Content[0].Text).RootElement.GetProperty("city").GetString());
        var format = (await Upstream.ReceivedRequests())[^1].GetProperty("response_format");
        Assert.Equal("json_schema", format.GetProperty("type").GetString());
        Assert.Equal("home", format.GetProperty("json_schema").GetProperty("name").GetString());
        Assert.Equal("string", format.GetProperty("json_schema").GetProperty("schema").GetProperty("properties").GetProperty("city").GetProperty("type").GetString());
    }

    [Fact]
    public async Task A_response_in_json_mode_asks_the_upstream_for_json_and_echoes_its_format()
    {
        using var http = Gateway.Http();

        using var answered = await http.PostAsync("/v1/responses", ChatCompletionsTests.Json(
            """{"model":"remote","input":"my drink is tea","text":{"format":{"type":"json_object"}}}"""));

        var body = JsonDocument.Parse(await answered.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Equal("json_object", body.GetProperty("text").GetProperty("format").GetProperty("type").GetString());
        var text = body.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString()!;
        Assert.Equal("tea", JsonDocument.Parse(text).RootElement.GetProperty("drink").GetString());
        Assert.Equal("json_object", (await Upstream.ReceivedRequests())[^1].GetProperty("response_format").GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("/v1/chat/completions", """{"model":"remote","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"schema":{}}}}""", "response_format.json_schema.name")]
    [InlineData("/v1/chat/completions", """{"model":"remote","messages":[{"role":"user","content":"x"}],"response_format":{"type":"xml"}}""", "response_format.type")]
    [InlineData("/v1/responses", """{"model":"remote","input":"x","text":{"format":{"type":"json_schema","name":"a","schema":"not an object"}}}""", "text.format.schema")]
    public async Task A_malformed_format_is_refused_naming_the_field(string path, string body, string param)
    {
        using var http = Gateway.Http();

        using var response = await http.PostAsync(path, ChatCompletionsTests.Json(body));

        await response.AssertOpenAIError(HttpStatusCode.BadRequest, param);
    }
}
