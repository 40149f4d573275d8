using System.Text;
using System.Text.Json;

namespace Conversations.Tests.Infrastructure;

/// <summary>JSON requests for tests that read answers as JSON: a failed call fails the test with its status and body.</summary>
public static class JsonHttp
{
    public static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    public static async Task<JsonElement> GetJson(this HttpClient http, string path) => JsonElement.Parse(await http.GetStringAsync(path));

    public static async Task<JsonElement> PostJson(this HttpClient http, string path, string body)
    {
        using var response = await http.PostAsync(path, Body(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {text}");
        return JsonElement.Parse(text);
    }

    /// <summary>The events of a server-sent event stream (its <c>data:</c> lines), each parsed, in order.</summary>
    public static async Task<List<JsonElement>> ReadEvents(this HttpResponseMessage response) =>
        [.. (await response.Content.ReadAsStringAsync()).Split('\n')
            .Where(line => line.StartsWith("data: ", StringComparison.Ordinal))
            .Select(line => JsonElement.Parse(line["data: ".Length..]))];
}
