using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Conversations.Bench;

/// <summary>
/// How long a fresh process takes to answer at its steady speed. Each start runs the embedded default as its own
/// process, waits for <c>/health</c>, then calls chat completions on one connection (a route to the simulated upstream
/// over HTTP, as in <c>latency</c>) until a fixed time after the process started, and bins the gateway's own time per
/// request (the wait less its <c>Server-Timing</c> upstream time) by the second since the start. Steady is the p50 of
/// the run's last seconds; time to steady is the first second from which the p50 of every window of a few seconds stays
/// within the bound of it. Variants (builds and runtime settings) alternate start by start; ratios are against the first, in the same run.
/// </summary>
public static class WarmupBench
{
    /// <summary>A build of the silo (its publish folder) and the runtime settings it runs with.</summary>
    public sealed record Variant(string Name, string Build, IReadOnlyDictionary<string, string> Environment);

    private sealed record Start(double ReadySeconds, double[] P50, double[] P99, double SteadyP50, double? SteadySeconds, double FirstTenP50);

    /// <summary>Seconds pooled for the test against the bound: one second's p50 on a loaded machine jumps past 10% now and then.</summary>
    private const int Window = 3;

    public static async Task<(string Markdown, JsonObject Json)> Run(string root, string[]? only, int starts, int runSeconds, int steadySeconds, double bound)
    {
        var (jit, readyToRun) = (await Publish(root, readyToRun: false), await Publish(root, readyToRun: true));
        var variants = new List<Variant>
        {
            new("published (JIT, the default)", jit, new Dictionary<string, string>()),
            new("ReadyToRun publish", readyToRun, new Dictionary<string, string>()),
            new("TieredPGO off", jit, new Dictionary<string, string> { ["DOTNET_TieredPGO"] = "0" }),
            new("QuickJitForLoops off", jit, new Dictionary<string, string> { ["DOTNET_TC_QuickJitForLoops"] = "0" }),
            new("call counting delay 0", jit, new Dictionary<string, string> { ["DOTNET_TC_CallCountingDelayMs"] = "0" }),
            new("ReadyToRun publish, call counting delay 0", readyToRun, new Dictionary<string, string> { ["DOTNET_TC_CallCountingDelayMs"] = "0" }),
            new("TieredCompilation off", jit, new Dictionary<string, string> { ["DOTNET_TieredCompilation"] = "0" }),
            new("framework ReadyToRun code off", jit, new Dictionary<string, string> { ["DOTNET_ReadyToRun"] = "0" }),
        };
        if (only is { Length: > 0 })
        {
            variants = [.. variants.Where((v, i) => i == 0 || only.Any(o => v.Name.Contains(o, StringComparison.OrdinalIgnoreCase)))];
        }

        var upstreamPort = BenchServers.FreePort();
        await using var upstream = await BenchServers.StartUpstream(upstreamPort, tokensPerSecond: 0);
        using (var direct = new PerRequestLatency(new Uri($"http://127.0.0.1:{upstreamPort}/v1/chat/completions"), LatencyBench.Chat, null))
        {
            await direct.Run(TimeSpan.FromSeconds(3)); // this process (client and upstream) warm before the first start
        }

        var results = variants.ToDictionary(v => v.Name, _ => new List<Start>());
        for (var round = 0; round < starts; round++)
        {
            foreach (var variant in variants)
            {
                var start = await Measure(root, variant, upstreamPort, runSeconds, steadySeconds, bound);
                results[variant.Name].Add(start);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"start {round + 1}, {variant.Name}: ready {start.ReadySeconds:0.0} s, steady p50 {start.SteadyP50:0.000} ms from {start.SteadySeconds?.ToString("0", CultureInfo.InvariantCulture) ?? "never"} s"));
            }
        }

        return Report(variants, results, starts, runSeconds, steadySeconds, bound);
    }

    /// <summary>Publishes the silo as the image does (Release, the SDK machine's runtime), with or without ReadyToRun code.</summary>
    private static async Task<string> Publish(string root, bool readyToRun)
    {
        var output = Path.Combine(Path.GetTempPath(), "conversations-warmup", readyToRun ? "r2r" : "jit");
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = root, RedirectStandardOutput = true };
        foreach (var argument in new[] { "publish", "silo/Conversations.Silo", "-c", "Release", "-o", output, $"-p:PublishReadyToRun={readyToRun}", "-nologo", "-v", "q" })
        {
            start.ArgumentList.Add(argument);
        }

        using var publish = Process.Start(start)!;
        var log = await publish.StandardOutput.ReadToEndAsync();
        await publish.WaitForExitAsync();
        return publish.ExitCode == 0 ? output : throw new InvalidOperationException($"dotnet publish failed:{Environment.NewLine}{log}");
    }

    private static async Task<Start> Measure(string root, Variant variant, int upstreamPort, int runSeconds, int steadySeconds, double bound)
    {
        var data = Directory.CreateTempSubdirectory("conversations-warmup-");
        var port = BenchServers.FreePort();
        var clock = Stopwatch.StartNew();
        using var gateway = await GatewayBench.StartGateway(root, port, data, upstreamPort, upstreamPort, extra: variant.Environment, build: variant.Build);
        var ready = clock.Elapsed.TotalSeconds;
        var bins = Enumerable.Range(0, runSeconds).Select(_ => new List<double>()).ToArray();
        try
        {
            using var client = new PerRequestLatency(new Uri($"http://127.0.0.1:{port}/v1/chat/completions"), LatencyBench.Chat, GatewayBench.Key);
            while (clock.Elapsed.TotalSeconds < runSeconds)
            {
                var second = (int)clock.Elapsed.TotalSeconds;
                await client.Run(TimeSpan.FromSeconds(second + 1) - clock.Elapsed);
                bins[second].AddRange(client.Samples.Where(s => s.Added is not null).Select(s => s.Added!.Value));
                client.Samples.Clear();
            }
        }
        finally
        {
            gateway.Kill();
            await gateway.WaitForExitAsync();
            data.Delete(recursive: true);
        }

        var p50 = bins.Select(b => PerRequestLatency.Percentile(b, 0.50)).ToArray();
        var steady = PerRequestLatency.Percentile(bins[^steadySeconds..].SelectMany(b => b), 0.50);
        bool Within(int second) => PerRequestLatency.Percentile(bins[second..Math.Min(runSeconds, second + Window)].SelectMany(b => b), 0.50) is var v
            && (double.IsNaN(v) || v <= steady * (1 + bound));
        var settled = Enumerable.Range(0, runSeconds - Window + 1).FirstOrDefault(s => bins[s].Count > 0 && Enumerable.Range(s, runSeconds - Window + 1 - s).All(Within), -1);
        var firstFull = (int)Math.Ceiling(ready);
        var firstTen = PerRequestLatency.Percentile(bins[Math.Min(firstFull, runSeconds)..Math.Min(runSeconds, firstFull + 10)].SelectMany(b => b), 0.50);
        return new Start(ready, p50, [.. bins.Select(b => PerRequestLatency.Percentile(b, 0.99))], steady, settled < 0 ? null : settled, firstTen);
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static (string, JsonObject) Report(List<Variant> variants, Dictionary<string, List<Start>> results, int starts, int runSeconds, int steadySeconds, double bound)
    {
        var inv = CultureInfo.InvariantCulture;
        static string F(double v, string format) => double.IsNaN(v) ? "–" : v.ToString(format, CultureInfo.InvariantCulture);
        double Settled(Start s) => s.SteadySeconds ?? runSeconds; // never settled counts as the whole run
        var baseline = results[variants[0].Name];
        var (baseSteady, baseP50) = (Median(baseline.Select(Settled)), Median(baseline.Select(s => s.SteadyP50)));
        var md = new StringBuilder();
        md.AppendLine(inv, $"# Warm from the start ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load average {BenchServers.LoadAverage()})");
        md.AppendLine();
        md.AppendLine(inv, $"{starts} process starts per variant, variants alternating start by start; each start runs {runSeconds} s from process start, calling");
        md.AppendLine("chat completions on one connection from `/health` ready (polled every 200 ms) to a route to the simulated upstream over HTTP.");
        md.AppendLine("Gateway time: each request's wait less its `Server-Timing` upstream time. Steady p50: over the last");
        md.AppendLine(inv, $"{steadySeconds} s of the start. Time to steady: the first second since process start from which the p50 of every {Window} s window");
        md.AppendLine(inv, $"stays within {bound:P0} of the steady p50 (a start that never does counts as {runSeconds} s). Cold p50: over the first 10 s after ready,");
        md.AppendLine("as a multiple of the same start's steady p50. Medians over the starts, ranges in brackets; ratios against the first row, in the same run.");
        md.AppendLine();
        md.AppendLine("| variant | ready s | time to steady s | ratio | steady p50 ms | ratio | cold p50 ms, first 10 s after ready | cold / steady | p50 ms, first second after ready | p99 ms, first 5 s after ready |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        var json = new JsonObject { ["starts"] = starts, ["run_seconds"] = runSeconds, ["steady_seconds"] = steadySeconds, ["bound"] = bound };
        foreach (var variant in variants)
        {
            var runs = results[variant.Name];
            var (ready, settled, steady) = (Median(runs.Select(s => s.ReadySeconds)), Median(runs.Select(Settled)), Median(runs.Select(s => s.SteadyP50)));
            int FirstFull(Start s) => Math.Min(runSeconds - 1, (int)Math.Ceiling(s.ReadySeconds));
            var first = Median(runs.Select(s => s.P50[FirstFull(s)]));
            var early = Median(runs.Select(s => s.P99[FirstFull(s)..Math.Min(runSeconds, FirstFull(s) + 5)].Where(v => !double.IsNaN(v)).DefaultIfEmpty(double.NaN).Max()));
            string Range(Func<Start, double> pick, string format) => $"[{F(runs.Min(pick), format)}–{F(runs.Max(pick), format)}]";
            md.AppendLine(inv,
                $"| {variant.Name} | {F(ready, "0.0")} {Range(s => s.ReadySeconds, "0.0")} | {F(settled, "0")} {Range(Settled, "0")} | {F(settled / baseSteady, "0.00")} | {F(steady, "0.000")} {Range(s => s.SteadyP50, "0.000")} | {F(steady / baseP50, "0.00")} | {F(Median(runs.Select(s => s.FirstTenP50)), "0.000")} {Range(s => s.FirstTenP50, "0.000")} | {F(Median(runs.Select(s => s.FirstTenP50 / s.SteadyP50)), "0.00")} {Range(s => s.FirstTenP50 / s.SteadyP50, "0.00")} | {F(first, "0.000")} | {F(early, "0.000")} |");
            json[variant.Name] = new JsonObject
            {
                ["environment"] = new JsonObject([.. variant.Environment.Select(e => KeyValuePair.Create(e.Key, (JsonNode?)e.Value))]),
                ["ready_seconds"] = new JsonArray([.. runs.Select(s => (JsonNode)s.ReadySeconds)]),
                ["time_to_steady_seconds"] = new JsonArray([.. runs.Select(s => (JsonNode)Settled(s))]),
                ["steady_p50_ms"] = new JsonArray([.. runs.Select(s => (JsonNode)s.SteadyP50)]),
                ["cold_p50_ms"] = new JsonArray([.. runs.Select(s => (JsonNode)s.FirstTenP50)]),
                ["p50_ms_by_second_per_start"] = new JsonArray([.. runs.Select(s => (JsonNode)new JsonArray([.. s.P50.Select(v => (JsonNode?)(double.IsNaN(v) ? null : v))]))]),
                ["p50_ms_by_second"] = new JsonArray([.. Enumerable.Range(0, runSeconds).Select(i => (JsonNode?)(double.IsNaN(Median(runs.Select(s => s.P50[i]))) ? null : Median(runs.Select(s => s.P50[i]))))]),
            };
        }

        md.AppendLine();
        md.AppendLine("## Gateway p50 / p99 ms by second since process start (medians over the starts; – before ready)");
        md.AppendLine();
        md.AppendLine("| s | " + string.Join(" | ", variants.Select(v => v.Name)) + " |");
        md.AppendLine("|---:|" + string.Concat(variants.Select(_ => "---:|")));
        for (var second = 0; second < runSeconds; second++)
        {
            var i = second;
            var cells = variants.Select(v => $"{F(Median(results[v.Name].Select(s => s.P50[i])), "0.000")} / {F(Median(results[v.Name].Select(s => s.P99[i])), "0.000")}");
            md.AppendLine(string.Create(inv, $"| {second} | ") + string.Join(" | ", cells) + " |");
        }

        return (md.ToString(), json);
    }
}
