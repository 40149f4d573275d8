using System.Net.Http.Headers;
using System.Text.Json;
using Conversations.Api.Streaming;
using Conversations.Tests.Api;
using Conversations.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Conversations.Tests.Caching;

/// <summary>
/// A running service on a clock the test moves, whose platform routes go to one simulated upstream over HTTP: "cached"
/// caches exact answers, "plain" has no cache of its own (a tenant's default applies), "peruser" caches exact answers per
/// end user, "semantic" matches questions by meaning at a cosine of 0.8 and "strict" at 0.999. Tests tell their calls apart
/// by a marker in the prompt, and count the upstream's calls by it.
/// </summary>
public sealed class CacheFixture : IAsyncLifetime
{
    public ManualClock Clock { get; } = new(DateTimeOffset.UtcNow);

    public UpstreamServer Upstream { get; private set; } = null!;

    public GatewayFactory Gateway { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Upstream = await UpstreamServer.StartAsync();
        var settings = Upstream.GatewaySettings("cached");
        foreach (var model in new[] { "plain", "peruser", "semantic", "strict" })
        {
            foreach (var (key, value) in Upstream.GatewaySettings(model))
            {
                settings[key] = value;
            }
        }

        settings["Conversations:Routes:cached:Cache:Mode"] = "Exact";
        settings["Conversations:Routes:cached:Cache:TtlSeconds"] = "600";
        settings["Conversations:Routes:cached:Deployments:0:Prices:InputPerMillion"] = "1";
        settings["Conversations:Routes:cached:Deployments:0:Prices:OutputPerMillion"] = "2";
        settings["Conversations:Routes:peruser:Cache:Mode"] = "Exact";
        settings["Conversations:Routes:peruser:Cache:Scope"] = "User";
        settings["Conversations:Routes:semantic:Cache:Mode"] = "Semantic";
        settings["Conversations:Routes:semantic:Cache:Similarity"] = "0.8";
        settings["Conversations:Routes:strict:Cache:Mode"] = "Semantic";
        settings["Conversations:Routes:strict:Cache:Similarity"] = "0.999";
        Gateway = new GatewayFactory(settings, services => services.AddSingleton<TimeProvider>(Clock));
    }

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
    }

    /// <summary>How many chat calls reached the upstream with <paramref name="marker"/> in their messages.</summary>
    public async Task<int> UpstreamCalls(string marker) =>
        (await Upstream.ReceivedRequests()).Count(r => r.GetRawText().Contains(marker, StringComparison.Ordinal));

    public static string Marker() => "m" + Guid.NewGuid().ToString("N")[..10];
}

/// <summary>One answer over HTTP: its status, what the cache did, its cache key, and its body.</summary>
public sealed record CallOutcome(int Status, string? Cache, string? Key, JsonElement Body, string Raw)
{
    public static async Task<CallOutcome> Post(HttpClient http, string path, string body, string? cacheControl = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = ChatCompletionsTests.Json(body) };
        if (cacheControl is not null)
        {
            request.Headers.CacheControl = CacheControlHeaderValue.Parse(cacheControl);
        }

        using var response = await http.SendAsync(request);
        var raw = await response.Content.ReadAsStringAsync();
        var json = raw.StartsWith('{') ? JsonDocument.Parse(raw).RootElement.Clone() : default;
        return new((int)response.StatusCode, Header(response, CallHeaders.Cache), Header(response, CallHeaders.CacheKey), json, raw);
    }

    public static string Chat(string model, string content, string extra = "") =>
        $$"""{"model":"{{model}}","messages":[{"role":"user","content":{{JsonSerializer.Serialize(content)}}}]{{extra}}}""";

    public string Text => Body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;

    /// <summary>The <c>data:</c> payloads of a stream, in order.</summary>
    public List<string> Events => [.. Raw.Split('\n').Where(line => line.StartsWith("data: ", StringComparison.Ordinal)).Select(line => line["data: ".Length..])];

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;
}
