using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;
using ModelContextProtocol.Server;

namespace Conversations.Bench;

/// <summary>
/// What the MCP gateway adds to a tool call, in one run: an upstream MCP server (the official SDK, one tool that answers at
/// once) in this process, and the service as its own process with that server registered for the bench's tenant. The
/// official client calls the tool directly and through the gateway's <c>/mcp</c>, and calls a built-in tool of the gateway, at 1
/// and 8 callers. Through the gateway every call is authenticated, metered and audited (an audit write each, decision 0056);
/// an upstream's tool is also sent from a silo over a new upstream session (decision 0055). The built-in row separates the two.
/// </summary>
public static class McpBench
{
    private static readonly int[] Callers = [1, 8];

    public static async Task<string> Run(string root, TimeSpan duration)
    {
        var (upstreamPort, gatewayPort) = (BenchServers.FreePort(), BenchServers.FreePort());
        var upstreamUrl = new Uri($"http://127.0.0.1:{upstreamPort}/mcp");
        await using var upstream = await StartUpstream(upstreamPort);
        var data = Directory.CreateTempSubdirectory("conversations-mcp-bench-");
        using var gateway = await GatewayBench.StartGateway(root, gatewayPort, data, upstreamPort, upstreamPort, extra: new Dictionary<string, string>
        {
            ["Conversations__Credentials__bench-mcp__ApiKey"] = "bench-mcp-key",
            ["Conversations__Credentials__bench-mcp__BaseUrl"] = upstreamUrl.ToString(),
            ["Conversations__Credentials__bench-mcp__Tenants__0"] = "default",
        });
        try
        {
            using (var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{gatewayPort}") })
            {
                admin.DefaultRequestHeaders.Authorization = new("Bearer", GatewayBench.Key);
                using var registered = await admin.PostAsync(new Uri("/v1/admin/tenants/default/mcp_servers", UriKind.Relative), new StringContent(
                    JsonSerializer.Serialize(new { label = "bench", url = upstreamUrl, credential = "bench-mcp" }), Encoding.UTF8, "application/json"));
                registered.EnsureSuccessStatusCode();
            }

            var gatewayMcp = new Uri($"http://127.0.0.1:{gatewayPort}/mcp");
            var results = new List<Measurement.Result>();
            foreach (var callers in Callers)
            {
                results.Add(await Calls("direct to the upstream", upstreamUrl, null, "echo", callers, duration));
                results.Add(await Calls("gateway, built-in tool (list_knowledge_bases)", gatewayMcp, GatewayBench.Key, "list_knowledge_bases", callers, duration));
                results.Add(await Calls("gateway, the upstream's tool", gatewayMcp, GatewayBench.Key, "bench__echo", callers, duration));
            }

            return Report(results, duration);
        }
        finally
        {
            gateway.Kill();
            await gateway.WaitForExitAsync();
            data.Delete(recursive: true);
        }
    }

    /// <summary>One client per caller, each calling the tool in a loop (with no arguments but the upstream's <c>echo</c>).</summary>
    private static async Task<Measurement.Result> Calls(string name, Uri endpoint, string? key, string tool, int callers, TimeSpan duration)
    {
        var clients = await Task.WhenAll(Enumerable.Range(0, callers).Select(_ => McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = endpoint,
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = key is null ? null : new Dictionary<string, string> { ["Authorization"] = "Bearer " + key },
        }))));
        try
        {
            var arguments = tool.EndsWith("echo", StringComparison.Ordinal) ? new Dictionary<string, object?> { ["text"] = "ping" } : [];
            return await Measurement.Run(name, callers, duration, async caller =>
            {
                var result = await clients[caller].CallToolAsync(tool, arguments);
                if (result.IsError is true)
                {
                    throw new InvalidOperationException($"{name}: the tool call failed.");
                }
            });
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    private static async Task<WebApplication> StartUpstream(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        builder.Services.AddMcpServer().WithHttpTransport().WithTools([
            McpServerTool.Create((string text) => text, new McpServerToolCreateOptions { Name = "echo", Description = "Answers its text." }),
        ]);
        var app = builder.Build();
        app.MapMcp("/mcp");
        await app.StartAsync();
        return app;
    }

    private static string Report(List<Measurement.Result> results, TimeSpan duration)
    {
        var report = new StringBuilder()
            .AppendLine("# MCP gateway: a tool call direct and through /mcp")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores, {duration.TotalSeconds:0} s per row, one run. The machine is shared and noisy: compare rows of this run only.")
            .AppendLine()
            .AppendLine("| callers | path | calls/s | p50 ms | p99 ms | p50 vs direct |")
            .AppendLine("|---|---|---|---|---|---|");
        foreach (var group in results.GroupBy(r => r.Concurrency))
        {
            var direct = group.First();
            foreach (var row in group)
            {
                report.AppendLine(CultureInfo.InvariantCulture,
                    $"| {row.Concurrency} | {row.Scenario} | {row.OpsPerSecond:0} | {row.P50Ms:0.00} | {row.P99Ms:0.00} | {row.P50Ms / direct.P50Ms:0.0}x |");
            }
        }

        return report.ToString();
    }
}
