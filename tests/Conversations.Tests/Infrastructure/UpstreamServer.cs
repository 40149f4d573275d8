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

    /// <summary>Gateway settings that serve <paramref name="model"/> from this upstream, through a credential named "upstream".</summary>
    public Dictionary<string, string?> GatewaySettings(string model)
    {
        var settings = CredentialSettings("upstream");
        settings[$"Conversations:Routes:{model}:Deployments:0:Name"] = model + "-upstream";
        settings[$"Conversations:Routes:{model}:Deployments:0:Provider"] = "OpenAICompatible";
        settings[$"Conversations:Routes:{model}:Deployments:0:Credential"] = "upstream";
        settings[$"Conversations:Routes:{model}:Deployments:0:UpstreamModel"] = "sim-upstream";
        return settings;
    }

    /// <summary>
    /// A gateway credential named <paramref name="name"/>: this upstream's key, bound to its base URL, shared with
    /// every tenant for the model "sim-upstream" at 1 and 2 USD per million input and output tokens.
    /// </summary>
    public Dictionary<string, string?> CredentialSettings(string name) => new()
    {
        [$"Conversations:Credentials:{name}:ApiKey"] = Key,
        [$"Conversations:Credentials:{name}:BaseUrl"] = BaseUrl.ToString(),
        [$"Conversations:Credentials:{name}:Tenants:0"] = "*",
        [$"Conversations:Credentials:{name}:Models:sim-upstream:InputPerMillion"] = "1",
        [$"Conversations:Credentials:{name}:Models:sim-upstream:OutputPerMillion"] = "2",
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
