using System.Text.Json;
using Conversations.SimulatedUpstream;
using Microsoft.AspNetCore.Builder;

namespace Conversations.Tests.Infrastructure;

/// <summary>The standalone simulated upstream on a free loopback port: a real OpenAI-compatible HTTP server.</summary>
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

    public static async Task<UpstreamServer> StartAsync()
    {
        var port = FreePorts.Next();
        var app = SimulatedUpstreamApp.Build([$"--urls=http://127.0.0.1:{port}", $"--Simulation:ApiKey={Key}"]);
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

    /// <summary>The chat requests the upstream received, oldest first.</summary>
    public async Task<List<JsonElement>> ReceivedRequests()
    {
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", Key);
        var json = await http.GetStringAsync(new Uri(BaseUrl, "/sim/requests"));
        return [.. JsonDocument.Parse(json).RootElement.EnumerateArray()];
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
