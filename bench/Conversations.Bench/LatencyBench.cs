using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Conversations.Bench;

/// <summary>
/// What the gateway adds at one connection, measured in alternating rounds so that drift on a noisy
/// machine lands on every target alike: direct to the upstream, the gateway to the same upstream over
/// HTTP, the gateway with its in-process simulated model (no upstream I/O), and <c>GET /v1/models</c>
/// (authentication, one grain call, JSON). Each figure is the median over the rounds.
/// </summary>
public static class LatencyBench
{
    private const string Chat = """{"model":"bench","max_tokens":64,"messages":[{"role":"user","content":"What does a gateway add to a model call?"}]}""";
    private const string InProcessChat = """{"model":"bench-local","max_tokens":64,"messages":[{"role":"user","content":"What does a gateway add to a model call?"}]}""";

    public static async Task<(string Markdown, JsonObject Json)> Run(string root, int rounds, TimeSpan duration)
    {
        await Wrk.EnsureInstalled();
        var (upstreamPort, gatewayPort) = (BenchServers.FreePort(), BenchServers.FreePort());
        await using var upstream = await BenchServers.StartUpstream(upstreamPort, tokensPerSecond: 0);
        var data = Directory.CreateTempSubdirectory("conversations-latency-");
        using var gateway = await GatewayBench.StartGateway(root, gatewayPort, data, upstreamPort, upstreamPort);
        try
        {
            var direct = new Uri($"http://127.0.0.1:{upstreamPort}/v1/chat/completions");
            var viaGateway = new Uri($"http://127.0.0.1:{gatewayPort}/v1/chat/completions");
            var models = new Uri($"http://127.0.0.1:{gatewayPort}/v1/models");
            var targets = new (string Name, Func<Task<Measurement.Result>> Measure)[]
            {
                ("direct to the upstream", () => Wrk.Post("direct", direct, Chat, null, 1, duration)),
                ("gateway to the upstream over HTTP", () => Wrk.Post("gateway", viaGateway, Chat, GatewayBench.Key, 1, duration)),
                ("gateway, in-process simulated model", () => Wrk.Post("in-process", viaGateway, InProcessChat, GatewayBench.Key, 1, duration)),
                ("gateway, GET /v1/models", () => Wrk.Get("models", models, GatewayBench.Key, 1, duration)),
            };

            foreach (var (_, measure) in targets)
            {
                await measure(); // a round not counted: tiered compilation settles
            }

            var results = targets.ToDictionary(t => t.Name, _ => new List<Measurement.Result>());
            for (var round = 0; round < rounds; round++)
            {
                foreach (var (name, measure) in targets)
                {
                    results[name].Add(await measure());
                }
            }

            // Per request: the same alternation, a .NET client timing each request on one connection.
            using var directClient = new PerRequestLatency(direct, Chat, null);
            using var gatewayClient = new PerRequestLatency(viaGateway, Chat, GatewayBench.Key);
            await directClient.Run(duration);
            await gatewayClient.Run(duration);
            directClient.Samples.Clear(); // the warm-up round is not counted
            gatewayClient.Samples.Clear();
            for (var round = 0; round < rounds; round++)
            {
                await directClient.Run(duration);
                await gatewayClient.Run(duration);
            }

            var (markdown, json) = Report(results, rounds, duration);
            return (markdown + PerRequestReport(directClient, gatewayClient, json), json);
        }
        finally
        {
            gateway.Kill();
            await gateway.WaitForExitAsync();
            data.Delete(recursive: true);
        }
    }

    private static string PerRequestReport(PerRequestLatency direct, PerRequestLatency gateway, JsonObject json)
    {
        static double[] Percentiles(List<double> values) => [.. Quantiles.Select(q => PerRequestLatency.Percentile(values, q))];

        var directWaits = Percentiles([.. direct.Samples.Select(s => s.Total)]);
        var gatewayWaits = Percentiles([.. gateway.Samples.Select(s => s.Total)]);
        var outside = Percentiles([.. gateway.Samples.Where(s => s.Added is not null).Select(s => s.Added!.Value)]);
        var rows = new (string Name, int Count, double[] Values)[]
        {
            ("direct to the upstream: what the client waited", direct.Samples.Count, directWaits),
            ("gateway to the upstream over HTTP: what the client waited", gateway.Samples.Count, gatewayWaits),
            ("gateway less direct (difference of the two rows above, per percentile)", gateway.Samples.Count, [.. gatewayWaits.Zip(directWaits, (g, d) => g - d)]),
            ("gateway: time outside its upstream exchange, per request (waited less its Server-Timing upstream time)", gateway.Samples.Count, outside),
        };
        var inv = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine();
        md.AppendLine("## Per request");
        md.AppendLine();
        md.AppendLine("The same alternation with a .NET client on one keep-alive connection, timing every request; rounds pooled.");
        md.AppendLine("The last row is a distribution over requests: each request's wait less the time the gateway spent in its HTTP exchange");
        md.AppendLine("with the upstream (request sent to response headers, as the gateway's HTTP client sees it), reported in `Server-Timing`.");
        md.AppendLine("It counts the client's extra hop, Kestrel, authentication, routing and the SDK's serialization both ways, but not the");
        md.AppendLine("gateway's HTTP client's own work on the exchange, so it is lower than the difference of the waits above it.");
        md.AppendLine();
        md.AppendLine("| per request | requests | p50 ms | p90 ms | p99 ms | p99.9 ms |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|");
        var perRequest = new JsonObject();
        foreach (var (name, count, values) in rows)
        {
            md.AppendLine(inv, $"| {name} | {count:N0} | {string.Join(" | ", values.Select(v => v.ToString("0.000", inv)))} |");
            perRequest[name] = new JsonObject
            {
                ["requests"] = count, ["p50_ms"] = values[0], ["p90_ms"] = values[1], ["p99_ms"] = values[2], ["p999_ms"] = values[3],
            };
        }

        json["per_request"] = perRequest;
        return md.ToString();
    }

    private static readonly double[] Quantiles = [0.50, 0.90, 0.99, 0.999];

    private static (string, JsonObject) Report(Dictionary<string, List<Measurement.Result>> results, int rounds, TimeSpan duration)
    {
        static double Median(IEnumerable<double> values)
        {
            var sorted = values.Order().ToList();
            return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
        }

        var inv = CultureInfo.InvariantCulture;
        var direct = results.First().Value;
        var (directP50, directP99) = (Median(direct.Select(r => r.P50Ms)), Median(direct.Select(r => r.P99Ms)));
        var md = new StringBuilder();
        md.AppendLine(inv, $"# Added latency at one connection ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores)");
        md.AppendLine();
        md.AppendLine(inv, $"{rounds} alternating rounds of {duration.TotalSeconds:0} s per target after one round not counted (wrk, 1 connection, 1 s warm-up each); medians over the rounds.");
        md.AppendLine();
        md.AppendLine("| target | req/s | p50 ms | p99 ms | added p50 ms | added p99 ms |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|");
        var json = new JsonObject { ["rounds"] = rounds, ["seconds"] = duration.TotalSeconds };
        foreach (var (name, runs) in results)
        {
            var (rps, p50, p99) = (Median(runs.Select(r => r.OpsPerSecond)), Median(runs.Select(r => r.P50Ms)), Median(runs.Select(r => r.P99Ms)));
            var added = name.Contains("upstream", StringComparison.Ordinal) && runs != direct;
            md.AppendLine(inv, $"| {name} | {rps:N0} | {p50:0.000} | {p99:0.000} | {(added ? (p50 - directP50).ToString("0.000", inv) : "")} | {(added ? (p99 - directP99).ToString("0.000", inv) : "")} |");
            json[name] = new JsonObject
            {
                ["requests_per_second"] = rps,
                ["p50_ms"] = p50,
                ["p99_ms"] = p99,
                ["p50_ms_per_round"] = new JsonArray([.. runs.Select(r => (JsonNode)JsonValue.Create(r.P50Ms))]),
            };
        }

        return (md.ToString(), json);
    }
}
