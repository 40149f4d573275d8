using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Conversations.Bench;

/// <summary>
/// The production shape against the embedded default, in one run: two silos (Azure Table membership, Azure Blob grain
/// state, in a real Azurite) behind an API host of its own (an Orleans client), beside the embedded default (one
/// process, SQLite); with <c>--base DIR</c> also the same cluster on another build's silos. Stateless chat, in rounds
/// that alternate between them (the order flips each round): one connection, timing each request and reading the
/// gateway's own time from <c>Server-Timing</c>; then 64 connections (wrk). At the end, each silo's route plans by
/// where they were made (<c>conversations_route_plans_total</c>) against its routed calls.
/// </summary>
public static class ClusterBench
{
    private const string Body = """{"model":"bench","max_tokens":64,"messages":[{"role":"user","content":"hello"}]}""";

    public static async Task<(string Markdown, JsonObject Json)> Run(string root, string? baseBuild, int rounds, TimeSpan duration)
    {
        await Wrk.EnsureInstalled();
        var upstreamPort = BenchServers.FreePort();
        await using var upstream = await BenchServers.StartUpstream(upstreamPort, tokensPerSecond: 0);
        var storage = Directory.CreateTempSubdirectory("conversations-cluster-");
        var (azurite, azure) = await BenchServers.StartAzurite(root, storage.CreateSubdirectory("azurite"));
        var targets = new List<Target>();
        try
        {
            var port = BenchServers.FreePort();
            var embedded = await GatewayBench.StartGateway(root, port, storage.CreateSubdirectory("embedded"), upstreamPort, upstreamPort);
            targets.Add(new Target("embedded default", port, [(port, embedded)], embedded));
            targets.Add(await StartCluster("two silos and an API host", root, null, storage, azure, upstreamPort));
            if (baseBuild is not null)
            {
                targets.Add(await StartCluster("the same, base silos", root, baseBuild, storage, azure, upstreamPort));
            }

            foreach (var target in targets) // seven processes just started: JIT and first activations before any round counts
            {
                await Wrk.Post(target.Name, new Uri($"http://127.0.0.1:{target.Port}/v1/chat/completions"), Body, GatewayBench.Key, 64, duration);
            }

            var measured = targets.ToDictionary(t => t.Name, _ => new List<Round>());
            for (var round = 0; round < rounds; round++)
            {
                foreach (var target in round % 2 == 0 ? targets : Enumerable.Reverse(targets))
                {
                    var url = new Uri($"http://127.0.0.1:{target.Port}/v1/chat/completions");
                    using var one = new PerRequestLatency(url, Body, GatewayBench.Key);
                    await one.Run(TimeSpan.FromSeconds(1)); // warm-up
                    one.Samples.Clear();
                    await one.Run(duration);
                    var own = one.Samples.Select(s => s.Added ?? double.NaN).ToList();
                    var many = await Wrk.Post(target.Name, url, Body, GatewayBench.Key, 64, duration);
                    var measuredRound = new Round(one.Samples.Count / duration.TotalSeconds, PerRequestLatency.Percentile(own, 0.5), PerRequestLatency.Percentile(own, 0.99),
                        many.OpsPerSecond, many.P99Ms);
                    measured[target.Name].Add(measuredRound);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"round {round + 1}, {target.Name}: 1 connection {measuredRound.OneRate:N0}/s, own time p50 {measuredRound.OwnP50:0.000} ms p99 {measuredRound.OwnP99:0.000} ms; 64 connections {measuredRound.ManyRate:N0}/s"));
                }
            }

            var plans = new Dictionary<string, List<SiloPlans>>();
            foreach (var target in targets)
            {
                plans[target.Name] = [.. await Task.WhenAll(target.Silos.Select(silo => Plans(silo.Port)))];
            }

            return Report(measured, plans, rounds, duration);
        }
        finally
        {
            foreach (var process in targets.SelectMany(t => t.Silos.Select(s => s.Process).Append(t.Api)).Distinct().Append(azurite))
            {
                process.Kill();
                await process.WaitForExitAsync();
            }

            storage.Delete(recursive: true);
        }
    }

    /// <summary>Two silos without HTTP API (each on its own silo build when <paramref name="build"/> names one) and an API host, on Azurite.</summary>
    private static async Task<Target> StartCluster(string name, string root, string? build, DirectoryInfo storage, string azure, int upstreamPort)
    {
        var id = "bench-" + Guid.NewGuid().ToString("N")[..8];
        var cluster = new Dictionary<string, string>
        {
            ["Conversations__Cluster__Clustering"] = "AzureTable",
            ["Conversations__Cluster__Storage"] = "AzureBlob",
            ["Conversations__Cluster__AzureStorageConnectionString"] = azure,
            ["Conversations__Cluster__ServiceId"] = id,
            ["Conversations__Cluster__ClusterId"] = id,
        };
        var silos = new List<(int Port, Process Process)>();
        foreach (var _ in new[] { 1, 2 })
        {
            var port = BenchServers.FreePort();
            var silo = await GatewayBench.StartGateway(root, port, storage.CreateSubdirectory(id + "-" + port), upstreamPort, upstreamPort,
                extra: new Dictionary<string, string>(cluster) { ["Conversations__Api__Enabled"] = "false" }, build: build);
            silos.Add((port, silo));
        }

        var apiPort = BenchServers.FreePort();
        var api = await BenchServers.StartApiHost(root, apiPort, new Dictionary<string, string>(cluster)
        {
            ["CONVERSATIONS_API_KEY"] = GatewayBench.Key,
            ["DOTNET_GCgen0size"] = "0x4000000",
            ["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = "1",
        });
        Console.WriteLine($"{name}: silos on {string.Join(", ", silos.Select(s => s.Port))}, API host on {apiPort}");
        return new Target(name, apiPort, silos, api);
    }

    /// <summary>A silo's routed calls and the plans it made without a grain call, from its Prometheus scrape.</summary>
    private static async Task<SiloPlans> Plans(int port)
    {
        using var http = new HttpClient();
        var lines = (await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"))).Split('\n');
        double Sum(string metric, string? label = null) => lines
            .Where(l => l.StartsWith(metric + "{", StringComparison.Ordinal) && (label is null || l.Contains(label, StringComparison.Ordinal)))
            .Sum(l => double.Parse(l[(l.LastIndexOf('}') + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture));
        return new SiloPlans(port, Sum("conversations_route_calls_total"), lines.Any(l => l.StartsWith("conversations_route_plans_total{", StringComparison.Ordinal)),
            Sum("conversations_route_plans_total", "conversations_plan=\"route_silo\""), Sum("conversations_route_plans_total", "conversations_plan=\"lease\""));
    }

    private static (string, JsonObject) Report(Dictionary<string, List<Round>> measured, Dictionary<string, List<SiloPlans>> plans, int rounds, TimeSpan duration)
    {
        var inv = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine(inv, $"# Two silos and an API host against the embedded default ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load average {BenchServers.LoadAverage()} at the end)");
        md.AppendLine();
        md.AppendLine(inv, $"Stateless chat to the simulated upstream over HTTP, {rounds} alternating rounds of {duration.TotalSeconds:0} s per measurement, every process on this machine.");
        md.AppendLine("One connection: requests per second, and the gateway's own time per request (what the client waited less the upstream exchange the gateway reports in `Server-Timing`). 64 connections: wrk.");
        md.AppendLine();
        md.AppendLine("| target | round | 1 connection req/s | own time p50 ms | own time p99 ms | 64 connections req/s | 64 connections p99 ms |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        var json = new JsonObject();
        foreach (var (name, runs) in measured)
        {
            for (var i = 0; i < runs.Count; i++)
            {
                md.AppendLine(inv, $"| {name} | {i + 1} | {runs[i].OneRate:N0} | {runs[i].OwnP50:0.000} | {runs[i].OwnP99:0.000} | {runs[i].ManyRate:N0} | {runs[i].ManyP99:0.0} |");
            }

            md.AppendLine(inv, $"| **{name}** | median | {Measurement.Median(runs.Select(r => r.OneRate)):N0} | {Measurement.Median(runs.Select(r => r.OwnP50)):0.000} | {Measurement.Median(runs.Select(r => r.OwnP99)):0.000} | {Measurement.Median(runs.Select(r => r.ManyRate)):N0} | {Measurement.Median(runs.Select(r => r.ManyP99)):0.0} |");
            json[name] = new JsonObject
            {
                ["one_connection_rps"] = new JsonArray([.. runs.Select(r => JsonValue.Create(Math.Round(r.OneRate)))]),
                ["own_time_p50_ms"] = new JsonArray([.. runs.Select(r => JsonValue.Create(Math.Round(r.OwnP50, 3)))]),
                ["own_time_p99_ms"] = new JsonArray([.. runs.Select(r => JsonValue.Create(Math.Round(r.OwnP99, 3)))]),
                ["connections_64_rps"] = new JsonArray([.. runs.Select(r => JsonValue.Create(Math.Round(r.ManyRate)))]),
                ["silos"] = new JsonArray([.. plans[name].Select(p => new JsonObject { ["routed_calls"] = p.Calls, ["planned_in_route_silo"] = p.InRouteSilo, ["planned_on_lease"] = p.OnLease })]),
            };
        }

        var embedded = measured.First().Value;
        md.AppendLine();
        md.AppendLine("Within each round, over the embedded default (median of the rounds):");
        md.AppendLine();
        foreach (var (name, runs) in measured.Skip(1))
        {
            var (one, own, many) = (Measurement.Median(runs.Select((r, i) => r.OneRate / embedded[i].OneRate)), Measurement.Median(runs.Select((r, i) => r.OwnP50 - embedded[i].OwnP50)),
                Measurement.Median(runs.Select((r, i) => r.ManyRate / embedded[i].ManyRate)));
            md.AppendLine(inv, $"- {name}: 1 connection {one:0.00} of its throughput, own time p50 {own:+0.000;-0.000} ms; 64 connections {many:0.00} of its throughput.");
        }

        md.AppendLine();
        md.AppendLine("Route plans per silo over the whole run (calls routed in the silo; of them planned without a grain call, from the route its grain published there or lent it):");
        md.AppendLine();
        md.AppendLine("| target | silo | routed calls | planned in the route grain's silo | planned on a lease | asked the grain |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var (name, silos) in plans)
        {
            foreach (var silo in silos)
            {
                md.AppendLine(silo.Counted
                    ? string.Create(inv, $"| {name} | {silo.Port} | {silo.Calls:N0} | {silo.InRouteSilo:N0} | {silo.OnLease:N0} | {Math.Max(0, silo.Calls - silo.InRouteSilo - silo.OnLease):N0} |")
                    : string.Create(inv, $"| {name} | {silo.Port} | {silo.Calls:N0} | not counted by this build | | |"));
            }
        }

        return (md.ToString(), json);
    }

    private sealed record Target(string Name, int Port, IReadOnlyList<(int Port, Process Process)> Silos, Process Api);

    private sealed record Round(double OneRate, double OwnP50, double OwnP99, double ManyRate, double ManyP99);

    private sealed record SiloPlans(int Port, double Calls, bool Counted, double InRouteSilo, double OnLease);
}
