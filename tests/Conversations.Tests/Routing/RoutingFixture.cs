using System.Text;
using System.Text.Json;
using Conversations.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;

namespace Conversations.Tests.Routing;

/// <summary>
/// One gateway in front of several simulated upstream servers over real HTTP: a primary that tests
/// make fail, a healthy secondary, a "tight" one whose context window is 50 tokens, and an address
/// nothing listens on. Each test uses its own route alias, so circuits and cool-downs never leak
/// between tests; tests of one class run one after another, so a fault set on the primary is theirs.
/// </summary>
public sealed class RoutingFixture : IAsyncLifetime
{
    public UpstreamServer Primary { get; private set; } = null!;

    public UpstreamServer Secondary { get; private set; } = null!;

    public UpstreamServer Tight { get; private set; } = null!;

    public GatewayFactory Gateway { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Primary = await UpstreamServer.StartAsync();
        Secondary = await UpstreamServer.StartAsync();
        Tight = await UpstreamServer.StartAsync("--Simulation:ContextWindow=50");
        var dead = new Uri($"http://127.0.0.1:{FreePorts.Next()}/v1");

        var settings = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (name, server) in new[] { ("primary", Primary), ("secondary", Secondary), ("tight", Tight) })
        {
            foreach (var (key, value) in server.CredentialSettings(name))
            {
                settings[key] = value;
            }
        }

        settings["Conversations:Credentials:dead:ApiKey"] = UpstreamServer.Key;
        settings["Conversations:Credentials:dead:BaseUrl"] = dead.ToString();
        foreach (var (key, value) in Flatten(Routes))
        {
            settings[key] = value;
        }

        Gateway = new GatewayFactory(settings);
    }

    /// <summary>Deployments: p (primary), s (secondary), t (tight window), x (nothing listens); fast retries so tests stay quick.</summary>
    private static string Routes => """
        {
          "Conversations": {
            "Routes": {
              "sim-small": { "Deployments": [ { "Name": "sim-small", "Provider": "Simulated" } ] },
              "r503": { "Deployments": [ { "Name": "p", "Credential": "primary" }, { "Name": "s", "Credential": "secondary", "Priority": 1 } ], "Retry": { "BaseDelay": "00:00:00.010" } },
              "r429": { "Deployments": [ { "Name": "p", "Credential": "primary" }, { "Name": "s", "Credential": "secondary", "Priority": 1 } ] },
              "rules": { "Deployments": [ { "Name": "p", "Credential": "primary" }, { "Name": "s", "Credential": "secondary", "Priority": 1 } ], "FallbackOnStatus": [ 500, 502, 503 ] },
              "hang": { "Deployments": [ { "Name": "p", "Credential": "primary" }, { "Name": "s", "Credential": "secondary", "Priority": 1 } ], "Timeouts": { "FirstToken": "00:00:00.300" } },
              "unreachable": { "Deployments": [ { "Name": "x", "Credential": "dead" }, { "Name": "s", "Credential": "secondary", "Priority": 1 } ], "Retry": { "BaseDelay": "00:00:00.010" } },
              "window": { "Deployments": [ { "Name": "t", "Credential": "tight", "ContextWindow": 100 }, { "Name": "s", "Credential": "secondary", "Priority": 1 } ] },
              "window-only": { "Deployments": [ { "Name": "t", "Credential": "tight", "ContextWindow": 100 } ] },
              "stream": { "Deployments": [ { "Name": "p", "Credential": "primary" }, { "Name": "s", "Credential": "secondary", "Priority": 1 } ], "Retry": { "MaxRetriesPerDeployment": 0 } },
              "cut": { "Deployments": [ { "Name": "p", "Credential": "primary" }, { "Name": "s", "Credential": "secondary", "Priority": 1 } ] },
              "slow": { "Deployments": [ { "Name": "p", "Credential": "primary" }, { "Name": "s", "Credential": "secondary", "Priority": 1 } ], "Timeouts": { "Attempt": "00:00:00.300" } },
              "total": { "Deployments": [ { "Name": "p", "Credential": "primary" }, { "Name": "s", "Credential": "secondary", "Priority": 1 } ], "Timeouts": { "Total": "00:00:01" } },
              "spans": { "Deployments": [ { "Name": "p", "Credential": "primary" }, { "Name": "s", "Credential": "secondary", "Priority": 1 } ], "Retry": { "BaseDelay": "00:00:00.010" } },
              "timed": { "Deployments": [ { "Name": "timed", "Credential": "secondary" } ] },
              "claude": { "Deployments": [ { "Name": "anthropic", "Provider": "Anthropic", "Credential": "secondary", "UpstreamModel": "claude-sim" } ] }
            }
          }
        }
        """;

    /// <summary>JSON configuration as the flat keys <see cref="GatewayFactory"/> takes.</summary>
    public static Dictionary<string, string?> Flatten(string json) =>
        new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build()
            .AsEnumerable().Where(pair => pair.Value is not null).ToDictionary(pair => pair.Key, pair => pair.Value, StringComparer.Ordinal);

    /// <summary>How many requests <paramref name="server"/> received whose messages mention <paramref name="marker"/>.</summary>
    public static async Task<int> Received(UpstreamServer server, string marker) =>
        (await server.ReceivedRequests()).Count(r => r.GetRawText().Contains(marker, StringComparison.Ordinal));

    public static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : throw new Xunit.Sdk.XunitException($"No '{name}' header.");

    public static string Body(string model, string content, bool stream = false) => JsonSerializer.Serialize(new
    {
        model,
        stream,
        messages = new[] { new { role = "user", content } },
    });

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Primary.DisposeAsync();
        await Secondary.DisposeAsync();
        await Tight.DisposeAsync();
    }
}
