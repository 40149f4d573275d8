using System.Text.Json;
using Conversations.SimulatedUpstream;
using Microsoft.AspNetCore.Builder;

namespace Conversations.Tests.Infrastructure;

/// <summary>
/// The standalone simulated upstream on a free loopback port: a real HTTP server speaking OpenAI's chat
/// completions and Anthropic's Messages API.
/// </summary>
public sealed class UpstreamServer : IAsyncDisposable
{
    public const string Key = "sk-upstream-secret-0123456789";

    private readonly WebApplication _app;

    private UpstreamServer(WebApplication app, int port)
    {
        _app = app;
        BaseUrl = new Uri($"http://127.0.0.1:{port}/v1");
    }

    public Uri BaseUrl { get; }

    /// <param name="settings">More command-line settings, e.g. <c>--Simulation:ContextWindow=50</c>.</param>
    public static async Task<UpstreamServer> StartAsync(params string[] settings)
    {
        var port = FreePorts.Next();
        var app = SimulatedUpstreamApp.Build([$"--urls=http://127.0.0.1:{port}", $"--Simulation:ApiKey={Key}", .. settings]);
        await app.StartAsync();
        return new UpstreamServer(app, port);
    }

    /// <summary>Gateway settings that serve <paramref name="model"/> from this upstream.</summary>
    public Dictionary<string, string?> GatewaySettings(string model) => new()
    {
        [$"Conversations:Models:{model}:Provider"] = "OpenAICompatible",
        [$"Conversations:Models:{model}:BaseUrl"] = BaseUrl.ToString(),
        [$"Conversations:Models:{model}:ApiKey"] = Key,
        [$"Conversations:Models:{model}:UpstreamModel"] = "sim-upstream",
    };

    /// <summary>The chat and messages requests the upstream received, oldest first.</summary>
    public async Task<List<JsonElement>> ReceivedRequests()
    {
        using var http = Authorized();
        var json = await http.GetStringAsync(new Uri(BaseUrl, "/sim/requests"));
        return [.. JsonDocument.Parse(json).RootElement.EnumerateArray()];
    }

    /// <summary>Applies <paramref name="directives"/> (e.g. <c>[sim:status=529]</c>) to every request from now on; empty clears.</summary>
    public async Task SetFault(string directives)
    {
        using var http = Authorized();
        using var response = await http.PutAsync(new Uri(BaseUrl, "/sim/fault"), new StringContent(directives));
        response.EnsureSuccessStatusCode();
    }

    private static HttpClient Authorized()
    {
        var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", Key);
        return http;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
