using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Conversations.Bench;

/// <summary>
/// Windowed conversation turns (durable SQLite state, 16 callers) against the same gateway's stateless chat at the same
/// concurrency, for this tree's build and, with <c>--base DIR</c>, another build's silo output side by side: both gateways
/// run at once against one upstream, and the rounds alternate between them (the order flips each round), so the machine's
/// drift lands on both alike. The figure is the ratio within each round; the table gives every round and the median.
/// </summary>
public static class TurnsBench
{
    private const int Callers = 16;

    public static async Task<(string Markdown, JsonObject Json)> Run(string root, string? baseBuild, int rounds, TimeSpan duration)
    {
        var upstreamPort = BenchServers.FreePort();
        await using var upstream = await BenchServers.StartUpstream(upstreamPort, tokensPerSecond: 0);
        var builds = new List<(string Name, string? Folder)> { ("this build", null) };
        if (baseBuild is not null)
        {
            builds.Insert(0, ("base", baseBuild));
        }

        var gateways = new List<Target>();
        try
        {
            foreach (var (name, folder) in builds)
            {
                var (port, data) = (BenchServers.FreePort(), Directory.CreateTempSubdirectory("conversations-turns-"));
                var process = await GatewayBench.StartGateway(root, port, data, upstreamPort, upstreamPort, build: folder);
                var http = GatewayBench.Client(new Uri($"http://127.0.0.1:{port}"));
                var conversations = await Task.WhenAll(Enumerable.Range(0, Callers).Select(_ => GatewayBench.Prefilled(http, 20)));
                gateways.Add(new Target(name, process, data, http, conversations));
                Console.WriteLine($"{name}: pid {process.Id}, port {port}");
            }

            var measured = gateways.ToDictionary(g => g.Name, _ => new List<(double Stateless, double Turns)>());
            for (var round = 0; round < rounds; round++)
            {
                foreach (var gateway in round % 2 == 0 ? gateways : Enumerable.Reverse(gateways))
                {
                    var stateless = await Measurement.Run("stateless", Callers, duration, async _ =>
                        (await gateway.Http.PostAsync("/v1/chat/completions", Json("""{"model":"bench","max_tokens":64,"messages":[{"role":"user","content":"hello"}]}"""))).EnsureSuccessStatusCode());
                    var turns = await Measurement.Run("turns", Callers, duration, caller => GatewayBench.Turn(gateway.Http, gateway.Conversations[caller]));
                    measured[gateway.Name].Add((stateless.OpsPerSecond, turns.OpsPerSecond));
                    Console.WriteLine($"round {round + 1}, {gateway.Name}: stateless {stateless.OpsPerSecond:N0}/s, turns {turns.OpsPerSecond:N0}/s, ratio {turns.OpsPerSecond / stateless.OpsPerSecond:0.00}");
                }
            }

            var resident = gateways.ToDictionary(g => g.Name, g => BenchServers.ResidentBytes(g.Process));
            return Report(measured, resident, rounds, duration);
        }
        finally
        {
            foreach (var gateway in gateways)
            {
                gateway.Process.Kill();
                await gateway.Process.WaitForExitAsync();
                gateway.Http.Dispose();
                gateway.Data.Delete(recursive: true);
            }
        }
    }

    private static (string, JsonObject) Report(
        Dictionary<string, List<(double Stateless, double Turns)>> measured, Dictionary<string, long> resident, int rounds, TimeSpan duration)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# Windowed turns against stateless chat ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, 2 cores, load average {BenchServers.LoadAverage()} at the end)");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"16 callers, {rounds} alternating rounds of {duration.TotalSeconds:0} s per measurement; turns on conversations of 20 items with a 10-turn window (Responses API, durable SQLite state). Ratio: turns/s over the same gateway's stateless chat/s in the same round.");
        md.AppendLine();
        md.AppendLine("| build | round | stateless req/s | turns/s | turns over stateless |");
        md.AppendLine("|---|---:|---:|---:|---:|");
        var json = new JsonObject();
        foreach (var (name, runs) in measured)
        {
            for (var i = 0; i < runs.Count; i++)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {i + 1} | {runs[i].Stateless:N0} | {runs[i].Turns:N0} | {runs[i].Turns / runs[i].Stateless:0.00} |");
            }

            var ratios = runs.Select(r => r.Turns / r.Stateless).Order().ToList();
            md.AppendLine(CultureInfo.InvariantCulture, $"| **{name}** | median | {Measurement.Median(runs.Select(r => r.Stateless)):N0} | {Measurement.Median(runs.Select(r => r.Turns)):N0} | **{Measurement.Median(ratios):0.00}** ({ratios[0]:0.00}–{ratios[^1]:0.00}) |");
            json[name] = new JsonObject
            {
                ["stateless"] = new JsonArray([.. runs.Select(r => JsonValue.Create(Math.Round(r.Stateless)))]),
                ["turns"] = new JsonArray([.. runs.Select(r => JsonValue.Create(Math.Round(r.Turns)))]),
                ["median_ratio"] = Math.Round(Measurement.Median(ratios), 3),
                ["resident_mb_at_end"] = resident[name] / 1_000_000,
            };
        }

        md.AppendLine();
        md.AppendLine(string.Join("; ", resident.Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Key}: {r.Value / 1_000_000:N0} MB resident at the end"))) + ".");

        return (md.ToString(), json);
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private sealed record Target(string Name, Process Process, DirectoryInfo Data, HttpClient Http, string[] Conversations);
}
