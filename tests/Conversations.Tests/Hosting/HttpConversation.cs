using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Conversations.Tests.Api;

namespace Conversations.Tests.Hosting;

/// <summary>A conversation driven over plain HTTP, for tests against separately running processes.</summary>
public sealed class HttpConversation(HttpClient http, string id)
{
    public string Id => id;

    public static async Task<HttpConversation> CreateAsync(HttpClient http)
    {
        using var response = await http.PostAsync("/v1/conversations", ChatCompletionsTests.Json("{}"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return new HttpConversation(http, JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!);
    }

    public Task<HttpResponseMessage> TryTurnAsync(string text) =>
        http.PostAsync("/v1/responses", ChatCompletionsTests.Json(JsonSerializer.Serialize(new { model = "sim-small", conversation = id, input = text })));

    public async Task<string> TurnAsync(string text)
    {
        using var response = await TryTurnAsync(text);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString()!;
    }

    public async Task<List<(string Role, string Text)>> ItemsAsync()
    {
        var page = await http.GetFromJsonAsync<JsonElement>($"/v1/conversations/{id}/items?order=asc&limit=100");
        return [.. page.GetProperty("data").EnumerateArray().Select(item => (
            item.GetProperty("role").GetString()!,
            item.GetProperty("content")[0].GetProperty("text").GetString()!))];
    }
}
