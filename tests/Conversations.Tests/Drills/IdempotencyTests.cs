using System.Net;
using System.Text.Json;
using Conversations.Tests.Api;
using Conversations.Tests.Hosting;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Drills;

/// <summary>An <c>Idempotency-Key</c> makes a retried request take effect exactly once.</summary>
[Collection(GatewayCollection.Name)]
public sealed class IdempotencyTests(GatewayFixture fixture)
{
    [Fact]
    public async Task A_retried_turn_appends_once_and_answers_with_the_first_response()
    {
        using var http = fixture.Gateway.Http();
        var conversation = await HttpConversation.CreateAsync(http);
        var body = $$"""{"model":"sim-small","conversation":"{{conversation.Id}}","input":"charge my card once"}""";
        var key = Guid.NewGuid().ToString("N");

        // The first attempt and two retries, one of them racing the first.
        var racing = await Task.WhenAll(Send(http, body, key), Send(http, body, key));
        var later = await Send(http, body, key);

        var ids = racing.Append(later).Select(r => r.GetProperty("id").GetString()).Distinct().ToList();
        Assert.Single(ids);
        Assert.Equal(2, (await conversation.ItemsAsync()).Count);
    }

    [Fact]
    public async Task A_retried_streaming_turn_replays_the_first_response_as_events()
    {
        using var http = fixture.Gateway.Http();
        var conversation = await HttpConversation.CreateAsync(http);
        var body = $$"""{"model":"sim-small","conversation":"{{conversation.Id}}","input":"stream once","stream":true}""";
        var key = Guid.NewGuid().ToString("N");

        var first = (await Send(http, body, key, raw: true)).GetString()!;
        var retry = (await Send(http, body, key, raw: true)).GetString()!;

        var id = System.Text.RegularExpressions.Regex.Match(first, "\"id\":\"(resp_[0-9a-f]+)\"").Groups[1].Value;
        Assert.StartsWith("resp_", id, StringComparison.Ordinal);
        Assert.Contains($"\"id\":\"{id}\"", retry, StringComparison.Ordinal);
        Assert.Contains("event: response.completed", retry, StringComparison.Ordinal);
        Assert.DoesNotContain("response.output_text.delta", retry, StringComparison.Ordinal);
        Assert.Equal(2, (await conversation.ItemsAsync()).Count);
    }

    [Fact]
    public async Task A_retry_rebuilds_a_lost_response_record_with_exactly_what_the_model_wrote()
    {
        using var http = fixture.Gateway.Http();
        var conversation = await HttpConversation.CreateAsync(http);
        // store:false keeps no response record, as when the first attempt died before saving it; the input ends with an assistant message.
        var body = $$"""{"model":"sim-small","conversation":"{{conversation.Id}}","store":false,"input":[{"role":"user","content":"hi"},{"role":"assistant","content":"an earlier answer"}]}""";
        var key = Guid.NewGuid().ToString("N");

        var first = await Send(http, body, key);
        var retry = await Send(http, body, key);

        Assert.Equal(first.GetProperty("id").GetString(), retry.GetProperty("id").GetString());
        var output = Assert.Single(retry.GetProperty("output").EnumerateArray());
        Assert.Equal(first.GetProperty("output")[0].GetProperty("id").GetString(), output.GetProperty("id").GetString());
        Assert.Equal(3, (await conversation.ItemsAsync()).Count);
    }

    [Fact]
    public async Task The_same_key_with_another_body_is_refused_with_422()
    {
        using var http = fixture.Gateway.Http();
        var conversation = await HttpConversation.CreateAsync(http);
        var key = Guid.NewGuid().ToString("N");
        await Send(http, $$"""{"model":"sim-small","conversation":"{{conversation.Id}}","input":"first"}""", key);

        using var response = await Post(http, "/v1/responses", $$"""{"model":"sim-small","conversation":"{{conversation.Id}}","input":"different"}""", key);

        await response.AssertOpenAIError(HttpStatusCode.UnprocessableEntity, "Idempotency-Key");
        Assert.Equal(2, (await conversation.ItemsAsync()).Count);
    }

    [Fact]
    public async Task A_retried_stateless_response_returns_the_stored_first_response()
    {
        using var http = fixture.Gateway.Http();
        var key = Guid.NewGuid().ToString("N");
        const string body = """{"model":"sim-small","input":"no conversation here"}""";

        var first = await Send(http, body, key);
        var retry = await Send(http, body, key);

        Assert.Equal(first.GetProperty("id").GetString(), retry.GetProperty("id").GetString());
        Assert.Equal(first.GetProperty("output").GetRawText(), retry.GetProperty("output").GetRawText());
    }

    [Fact]
    public async Task Retried_item_creation_appends_once()
    {
        using var http = fixture.Gateway.Http();
        var conversation = await HttpConversation.CreateAsync(http);
        var key = Guid.NewGuid().ToString("N");
        const string body = """{"items":[{"role":"user","content":"only once"}]}""";

        using var first = await Post(http, $"/v1/conversations/{conversation.Id}/items", body, key);
        using var retry = await Post(http, $"/v1/conversations/{conversation.Id}/items", body, key);

        var firstIds = JsonDocument.Parse(await first.Content.ReadAsStringAsync()).RootElement.GetProperty("data")[0].GetProperty("id").GetString();
        var retryIds = JsonDocument.Parse(await retry.Content.ReadAsStringAsync()).RootElement.GetProperty("data")[0].GetProperty("id").GetString();
        Assert.Equal(firstIds, retryIds);
        Assert.Single(await conversation.ItemsAsync());
    }

    private static async Task<JsonElement> Send(HttpClient http, string body, string key, bool raw = false)
    {
        using var response = await Post(http, "/v1/responses", body, key);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return raw ? JsonSerializer.SerializeToElement(text) : JsonDocument.Parse(text).RootElement;
    }

    private static Task<HttpResponseMessage> Post(HttpClient http, string path, string body, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = ChatCompletionsTests.Json(body) };
        request.Headers.Add("Idempotency-Key", key);
        return http.SendAsync(request);
    }
}
