using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Conversations.Bench;

/// <summary>
/// What the gateway adds at one connection, measured in alternating rounds so that drift on a noisy
/// machine lands on every target alike: direct to the upstream, a bare proxy (YARP, its own process) to
/// it, the gateway to the same upstream over HTTP, the gateway with its in-process simulated model (no
/// upstream I/O), and <c>GET /v1/models</c> (authentication, one grain call, JSON). Each figure is the
/// median over the rounds.
/// </summary>
public static class LatencyBench
{
    internal const string Chat = """{"model":"bench","max_tokens":64,"messages":[{"role":"user","content":"What does a gateway add to a model call?"}]}""";
    private const string InProcessChat = """{"model":"bench-local","max_tokens":64,"messages":[{"role":"user","content":"What does a gateway add to a model call?"}]}""";

    public static async Task<(string Markdown, JsonObject Json)> Run(string root, int rounds, TimeSpan duration)
    {
        await Wrk.EnsureInstalled();
        var (upstreamPort, proxyPort, gatewayPort) = (BenchServers.FreePort(), BenchServers.FreePort(), BenchServers.FreePort());
        await using var upstream = await BenchServers.StartUpstream(upstreamPort, tokensPerSecond: 0);
        var data = Directory.CreateTempSubdirectory("conversations-latency-");
        using var gateway = await GatewayBench.StartGateway(root, gatewayPort, data, upstreamPort, upstreamPort);
        using var proxy = await BenchServers.StartProxyProcess(proxyPort, new Uri($"http://127.0.0.1:{upstreamPort}"));
        try
        {
            var direct = new Uri($"http://127.0.0.1:{upstreamPort}/v1/chat/completions");
            var viaProxy = new Uri($"http://127.0.0.1:{proxyPort}/v1/chat/completions");
            var viaGateway = new Uri($"http://127.0.0.1:{gatewayPort}/v1/chat/completions");
            var models = new Uri($"http://127.0.0.1:{gatewayPort}/v1/models");
            var targets = new (string Name, Func<Task<Measurement.Result>> Measure)[]
            {
                ("direct to the upstream", () => Wrk.Post("direct", direct, Chat, null, 1, duration)),
                (Proxy, () => Wrk.Post("proxy", viaProxy, Chat, null, 1, duration)),
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
            using var proxyClient = new PerRequestLatency(viaProxy, Chat, null);
            using var gatewayClient = new PerRequestLatency(viaGateway, Chat, GatewayBench.Key);
            PerRequestLatency[] clients = [directClient, proxyClient, gatewayClient];
            for (var round = 0; round <= rounds; round++)
            {
                foreach (var client in clients)
                {
                    if (round == 1)
                    {
                        client.Samples.Clear(); // the warm-up round is not counted
                    }

                    await client.Run(duration);
                }
            }

            var (markdown, json) = Report(results, rounds, duration);
            return (markdown + PerRequestReport(directClient, proxyClient, gatewayClient, json), json);
        }
        finally
        {
            foreach (var process in new[] { gateway, proxy })
            {
                process.Kill();
                await process.WaitForExitAsync();
            }

            data.Delete(recursive: true);
        }
    }

    private const string Proxy = "bare proxy (YARP, its own process) to the upstream";

    private static string PerRequestReport(PerRequestLatency direct, PerRequestLatency proxy, PerRequestLatency gateway, JsonObject json)
    {
        static double[] Percentiles(List<double> values) => [.. Quantiles.Select(q => PerRequestLatency.Percentile(values, q))];
        static double[] Less(double[] minuend, double[] subtrahend) => [.. minuend.Zip(subtrahend, (m, s) => m - s)];

        var directWaits = Percentiles([.. direct.Samples.Select(s => s.Total)]);
        var proxyWaits = Percentiles([.. proxy.Samples.Select(s => s.Total)]);
        var gatewayWaits = Percentiles([.. gateway.Samples.Select(s => s.Total)]);
        var outside = Percentiles([.. gateway.Samples.Where(s => s.Added is not null).Select(s => s.Added!.Value)]);
        var rows = new (string Name, int Count, double[] Values)[]
        {
            ("direct to the upstream: what the client waited", direct.Samples.Count, directWaits),
            ("bare proxy to the upstream: what the client waited", proxy.Samples.Count, proxyWaits),
            ("gateway to the upstream over HTTP: what the client waited", gateway.Samples.Count, gatewayWaits),
            ("bare proxy less direct (per percentile): the floor for any process in the path", proxy.Samples.Count, Less(proxyWaits, directWaits)),
            ("gateway less direct (per percentile)", gateway.Samples.Count, Less(gatewayWaits, directWaits)),
            ("gateway less bare proxy (per percentile)", gateway.Samples.Count, Less(gatewayWaits, proxyWaits)),
            ("gateway: time outside its upstream exchange, per request (waited less its Server-Timing upstream time)", gateway.Samples.Count, outside),
        };
        var inv = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine();
        md.AppendLine("## Per request");
        md.AppendLine();
        md.AppendLine("The same alternation with a .NET client on one keep-alive connection, timing every request; rounds pooled.");
        md.AppendLine("The bare proxy is the floor for anything in the path: a process of its own that parses nothing, on the same loopback.");
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
        var (proxyP50, proxyP99) = (Median(results[Proxy].Select(r => r.P50Ms)), Median(results[Proxy].Select(r => r.P99Ms)));
        var md = new StringBuilder();
        md.AppendLine(inv, $"# Added latency at one connection ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores)");
        md.AppendLine();
        md.AppendLine(inv, $"{rounds} alternating rounds of {duration.TotalSeconds:0} s per target after one round not counted (wrk, 1 connection, 1 s warm-up each); medians over the rounds.");
        md.AppendLine();
        md.AppendLine("| target | req/s | p50 ms | p99 ms | added p50 ms | added p99 ms | over the proxy p50 ms | over the proxy p99 ms |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        var json = new JsonObject { ["rounds"] = rounds, ["seconds"] = duration.TotalSeconds };
        foreach (var (name, runs) in results)
        {
            var (rps, p50, p99) = (Median(runs.Select(r => r.OpsPerSecond)), Median(runs.Select(r => r.P50Ms)), Median(runs.Select(r => r.P99Ms)));
            var added = name.Contains("upstream", StringComparison.Ordinal) && runs != direct;
            var overProxy = name.StartsWith("gateway to the upstream", StringComparison.Ordinal);
            string Difference(bool shown, double value, double baseline) => shown ? (value - baseline).ToString("0.000", inv) : "";
            md.AppendLine(inv,
                $"| {name} | {rps:N0} | {p50:0.000} | {p99:0.000} | {Difference(added, p50, directP50)} | {Difference(added, p99, directP99)} | {Difference(overProxy, p50, proxyP50)} | {Difference(overProxy, p99, proxyP99)} |");
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
