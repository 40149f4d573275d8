using System.ClientModel;
using System.Net;
using Conversations.Tests.Infrastructure;
using OpenAI.Chat;

namespace Conversations.Tests.Api;

/// <summary>Bad input, bad keys and unknown ids: always OpenAI's error shape with the right status.</summary>
[Collection(GatewayCollection.Name)]
public sealed class ErrorContractTests(GatewayFixture fixture)
{
    [Theory]
    [InlineData("/v1/chat/completions", "{\"model\":\"sim-small\",")]
    [InlineData("/v1/responses", "not json")]
    [InlineData("/v1/conversations", "[1,2")]
    public async Task Malformed_json_is_400_invalid_json(string path, string body)
    {
        using var http = fixture.Gateway.Http();

        using var response = await http.PostAsync(path, ChatCompletionsTests.Json(body));

        var error = await response.AssertOpenAIError(HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("""{"messages":[{"role":"user","content":"x"}]}""", "model")]
    [InlineData("""{"model":"sim-small","messages":[]}""", "messages")]
    [InlineData("""{"model":"sim-small","messages":[{"role":"wizard","content":"x"}]}""", "messages[0].role")]
    [InlineData("""{"model":"sim-small","messages":[{"role":"system","content":[{"type":"image_url"}]}]}""", "messages[0].content[0].type")]
    [InlineData("""{"model":"sim-small","messages":[{"role":"user","content":[{"type":"image_url"}]}]}""", "messages[0].content[0].image_url")]
    [InlineData("""{"model":"sim-small","temperature":7,"messages":[{"role":"user","content":"x"}]}""", "temperature")]
    [InlineData("""{"model":"sim-small","messages":"hello"}""", "messages")]
    public async Task Invalid_chat_requests_name_the_offending_parameter(string body, string param)
    {
        using var http = fixture.Gateway.Http();

        using var response = await http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(body));

        await response.AssertOpenAIError(HttpStatusCode.BadRequest, param);
    }

    [Fact]
    public async Task Conversation_and_previous_response_id_together_are_400()
    {
        using var http = fixture.Gateway.Http();

        using var response = await http.PostAsync("/v1/responses", ChatCompletionsTests.Json(
            """{"model":"sim-small","input":"x","conversation":"conv_abc","previous_response_id":"resp_abc"}"""));

        await response.AssertOpenAIError(HttpStatusCode.BadRequest, "previous_response_id");
    }

    [Theory]
    [InlineData("GET", "/v1/conversations/conv_0123456789abcdef")]
    [InlineData("GET", "/v1/conversations/not-an-id")]
    [InlineData("GET", "/v1/conversations/conv_0123456789abcdef/items")]
    [InlineData("DELETE", "/v1/conversations/conv_0123456789abcdef")]
    [InlineData("GET", "/v1/responses/resp_0123456789abcdef")]
    [InlineData("GET", "/v1/responses/resp_0123456789abcdef/input_items")]
    [InlineData("GET", "/v1/no/such/route")]
    public async Task Unknown_ids_and_routes_are_404(string method, string path)
    {
        using var http = fixture.Gateway.Http();

        using var response = await http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        await response.AssertOpenAIError(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Responses_with_an_unknown_conversation_or_previous_response_are_404()
    {
        using var http = fixture.Gateway.Http();

        using var conversation = await http.PostAsync("/v1/responses", ChatCompletionsTests.Json(
            """{"model":"sim-small","input":"x","conversation":"conv_0123456789abcdef"}"""));
        using var previous = await http.PostAsync("/v1/responses", ChatCompletionsTests.Json(
            """{"model":"sim-small","input":"x","previous_response_id":"resp_0123456789abcdef"}"""));

        await conversation.AssertOpenAIError(HttpStatusCode.NotFound);
        await previous.AssertOpenAIError(HttpStatusCode.NotFound, "previous_response_id");
    }

    [Fact]
    public async Task Missing_key_is_401()
    {
        using var http = fixture.Gateway.Http(apiKey: null);

        using var response = await http.GetAsync("/v1/models");

        await response.AssertOpenAIError(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Wrong_key_is_401_invalid_api_key_through_the_sdk()
    {
        var exception = await Assert.ThrowsAsync<ClientResultException>(() =>
            fixture.Gateway.OpenAI("sk-wrong").GetChatClient("sim-small").CompleteChatAsync([new UserChatMessage("x")]));

        Assert.Equal(401, exception.Status);
        Assert.Contains("invalid_api_key", exception.GetRawResponse()!.Content.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Another_tenants_conversation_is_404_for_every_endpoint()
    {
        using var owner = fixture.Gateway.Http();
        using var created = await owner.PostAsync("/v1/conversations", ChatCompletionsTests.Json("""{"items":[{"role":"user","content":"secret"}]}"""));
        var id = System.Text.Json.JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();
        using var stranger = fixture.Gateway.Http(GatewayFactory.OtherTenantKey);

        foreach (var (method, path, body) in new (string, string, string?)[]
        {
            ("GET", $"/v1/conversations/{id}", null),
            ("POST", $"/v1/conversations/{id}", """{"metadata":{"a":"b"}}"""),
            ("GET", $"/v1/conversations/{id}/items", null),
            ("POST", $"/v1/conversations/{id}/items", """{"items":[{"role":"user","content":"x"}]}"""),
            ("POST", "/v1/responses", $$"""{"model":"sim-small","input":"x","conversation":"{{id}}"}"""),
            ("DELETE", $"/v1/conversations/{id}", null),
        })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = body is null ? null : ChatCompletionsTests.Json(body) };
            using var response = await stranger.SendAsync(request);
            await response.AssertOpenAIError(HttpStatusCode.NotFound);
        }

        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync($"/v1/conversations/{id}")).StatusCode);
    }

    [Fact]
    public async Task Oversized_body_is_413()
    {
        using var http = fixture.Gateway.Http();
        var huge = new string('a', 9 * 1024 * 1024);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = ChatCompletionsTests.Json($$"""{"model":"sim-small","messages":[{"role":"user","content":"{{huge}}"}]}"""),
        };
        request.Headers.ExpectContinue = true; // the server refuses on the declared length, before the body is sent

        using var response = await http.SendAsync(request);

        await response.AssertOpenAIError(HttpStatusCode.RequestEntityTooLarge);
    }
}
