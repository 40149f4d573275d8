using System.Globalization;
using System.Text.Json.Nodes;
using Conversations.Bench;

// Usage: dotnet run -c Release --project bench/Conversations.Bench -- [gateway|latency|quota|context|memory|cache|telemetry|guardrails|pages|mcp|turns|soak|overview|cluster|warmup] [--base SILO_BUILD_DIR] [--duration 2m] [--concurrency 64] [--seconds 5] [--rounds 5] [--http-seconds 10] [--starts 3 --run-seconds 45 --steady-seconds 10 --variants r2r,pgo] [--seed 20261207 --conversations 3 --turns 1000 --only NAME --top-k 16 --min-score 0.2]
var scenario = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "gateway";
var concurrency = Option("--concurrency", 64);
var seconds = Option("--seconds", 5);
var results = Path.Combine(FindRoot(), "bench", "results");
Directory.CreateDirectory(results);

switch (scenario)
{
    case "quota":
        var measured = await QuotaAdmissionBench.Run(concurrency, TimeSpan.FromSeconds(seconds));
        var report = QuotaAdmissionBench.Report(measured);
        Console.WriteLine(report);
        await File.WriteAllTextAsync(Path.Combine(results, "quota-admission.md"), report);
        await File.WriteAllTextAsync(Path.Combine(results, "quota-admission.json"), QuotaAdmissionBench.Json(measured));
        return 0;
    case "gateway":
        var (markdown, json, svg) = await GatewayBench.Run(FindRoot(), TimeSpan.FromSeconds(seconds));
        Console.WriteLine(markdown);
        await File.WriteAllTextAsync(Path.Combine(results, "gateway.md"), markdown);
        await File.WriteAllTextAsync(Path.Combine(results, "gateway.json"), System.Text.Json.JsonSerializer.Serialize(json, JsonOutput.Options));
        await File.WriteAllTextAsync(Path.Combine(results, "gateway-latency.svg"), svg);
        return 0;
    case "latency":
        var (latencyReport, latencyJson) = await LatencyBench.Run(FindRoot(), Option("--rounds", 5), TimeSpan.FromSeconds(seconds));
        Console.WriteLine(latencyReport);
        await File.WriteAllTextAsync(Path.Combine(results, "latency.md"), latencyReport);
        await File.WriteAllTextAsync(Path.Combine(results, "latency.json"), latencyJson.ToJsonString(JsonOutput.Options));
        return 0;
    case "telemetry":
        var telemetryReport = await TelemetryBench.Run(FindRoot(), TimeSpan.FromSeconds(seconds), Option("--rounds", 3));
        Console.WriteLine(telemetryReport);
        await File.WriteAllTextAsync(Path.Combine(results, "telemetry.md"), telemetryReport);
        return 0;
    case "context":
        var (buildReport, buildJson) = ContextBuildBench.Run(); // first, in a process with nothing else running yet
        var (contextReport, contextJson) = await ContextBench.Run(BenchServers.FreePort());
        contextReport += Environment.NewLine + buildReport;
        Console.WriteLine(contextReport);
        await File.WriteAllTextAsync(Path.Combine(results, "context.md"), contextReport);
        await File.WriteAllTextAsync(Path.Combine(results, "context.json"),
            new JsonObject { ["strategies"] = contextJson, ["build_time_by_history_length"] = buildJson }.ToJsonString(JsonOutput.Options));
        return 0;
    case "memory":
        var (memoryReport, memoryJson) = await MemoryBench.Run(BenchServers.FreePort(), Option("--seed", MemoryBench.TunedSeed), Option("--conversations", 3), Option("--turns", 1_000), OptionText("--only"),
            Option("--top-k", 16), OptionText("--min-score") is { } minScore ? float.Parse(minScore, CultureInfo.InvariantCulture) : null);
        Console.WriteLine(memoryReport);
        var memorySeed = Option("--seed", MemoryBench.TunedSeed);
        var memoryFile = memorySeed == MemoryBench.TunedSeed ? "memory" : $"memory-seed-{memorySeed}"; // a check on conversations not tuned on
        await File.WriteAllTextAsync(Path.Combine(results, memoryFile + ".md"), memoryReport);
        await File.WriteAllTextAsync(Path.Combine(results, memoryFile + ".json"), memoryJson.ToJsonString(JsonOutput.Options));
        return 0;
    case "cache":
        var (cacheReport, cacheJson) = await CacheBench.Run(FindRoot(), TimeSpan.FromSeconds(seconds));
        Console.WriteLine(cacheReport);
        await File.WriteAllTextAsync(Path.Combine(results, "cache.md"), cacheReport);
        await File.WriteAllTextAsync(Path.Combine(results, "cache.json"), cacheJson.ToJsonString(JsonOutput.Options));
        return 0;
    case "guardrails":
        var (guardrailsReport, guardrailsJson) = await GuardrailsBench.Run(TimeSpan.FromSeconds(seconds));
        var (guardrailsHttpReport, guardrailsHttpJson) = await GuardrailsHttpBench.Run(FindRoot(), TimeSpan.FromSeconds(Option("--http-seconds", 10)), Option("--rounds", 3));
        Console.WriteLine(guardrailsReport + "\n" + guardrailsHttpReport);
        await File.WriteAllTextAsync(Path.Combine(results, "guardrails.md"), guardrailsReport + "\n" + guardrailsHttpReport);
        await File.WriteAllTextAsync(Path.Combine(results, "guardrails.json"),
            new JsonObject { ["stages"] = guardrailsJson, ["http"] = guardrailsHttpJson }.ToJsonString(JsonOutput.Options));
        return 0;
    case "pages":
        var (pagesReport, pagesJson) = await PagesBench.Run(FindRoot(), Option("--rounds", 3));
        Console.WriteLine(pagesReport);
        await File.WriteAllTextAsync(Path.Combine(results, "pages.md"), pagesReport);
        await File.WriteAllTextAsync(Path.Combine(results, "pages.json"), pagesJson.ToJsonString(JsonOutput.Options));
        return 0;
    case "overview":
        var (overviewReport, overviewJson) = await OverviewErrorsBench.Run(Option("--rounds", 9));
        Console.WriteLine(overviewReport);
        await File.WriteAllTextAsync(Path.Combine(results, "overview-errors.md"), overviewReport);
        await File.WriteAllTextAsync(Path.Combine(results, "overview-errors.json"), overviewJson.ToJsonString(JsonOutput.Options));
        return 0;
    case "mcp":
        var mcpReport = await McpBench.Run(FindRoot(), TimeSpan.FromSeconds(seconds));
        Console.WriteLine(mcpReport);
        await File.WriteAllTextAsync(Path.Combine(results, "mcp.md"), mcpReport);
        return 0;
    case "turns":
        var (turnsReport, turnsJson) = await TurnsBench.Run(FindRoot(), OptionText("--base"), Option("--rounds", 4), TimeSpan.FromSeconds(seconds));
        Console.WriteLine(turnsReport);
        await File.WriteAllTextAsync(Path.Combine(results, "turns.md"), turnsReport);
        await File.WriteAllTextAsync(Path.Combine(results, "turns.json"), turnsJson.ToJsonString(JsonOutput.Options));
        return 0;
    case "cluster":
        var (clusterReport, clusterJson) = await ClusterBench.Run(FindRoot(), OptionText("--base"), Option("--rounds", 5), TimeSpan.FromSeconds(seconds));
        Console.WriteLine(clusterReport);
        await File.WriteAllTextAsync(Path.Combine(results, "cluster.md"), clusterReport);
        await File.WriteAllTextAsync(Path.Combine(results, "cluster.json"), clusterJson.ToJsonString(JsonOutput.Options));
        return 0;
    case "soak":
        var duration = OptionText("--duration") is { } given
            ? TimeSpan.FromSeconds(double.Parse(given.TrimEnd('s', 'm'), CultureInfo.InvariantCulture) * (given.EndsWith('m') ? 60 : 1))
            : TimeSpan.FromMinutes(2);
        var (soakReport, soakJson, soakSvg) = await SoakBench.Run(FindRoot(), OptionText("--base"), duration);
        Console.WriteLine(soakReport);
        await File.WriteAllTextAsync(Path.Combine(results, "soak.md"), soakReport);
        await File.WriteAllTextAsync(Path.Combine(results, "soak.json"), soakJson.ToJsonString(JsonOutput.Options));
        await File.WriteAllTextAsync(Path.Combine(results, "soak.svg"), soakSvg);
        return 0;
    case "warmup":
        var (warmupReport, warmupJson) = await WarmupBench.Run(FindRoot(), OptionText("--variants")?.Split(','), Option("--starts", 3), Option("--run-seconds", 45),
            Option("--steady-seconds", 10), 0.10);
        Console.WriteLine(warmupReport);
        await File.WriteAllTextAsync(Path.Combine(results, "warmup.md"), warmupReport);
        await File.WriteAllTextAsync(Path.Combine(results, "warmup.json"), warmupJson.ToJsonString(JsonOutput.Options));
        return 0;
    case "proxy":
        // The bare proxy as a process of its own (the latency scenario starts it), so it sits where the gateway does.
        await using (var proxy = await BenchServers.StartProxy(Option("--port", 0), new Uri(args[Array.IndexOf(args, "--upstream") + 1])))
        {
            Console.WriteLine("ready");
            await proxy.WaitForShutdownAsync();
        }

        return 0;
    default:
        Console.Error.WriteLine($"Unknown scenario '{scenario}'. Scenarios: gateway, latency, quota, context, memory, cache, telemetry, guardrails, pages, mcp, turns, soak, overview, cluster, warmup.");
        return 2;
}

int Option(string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
}

string? OptionText(string name)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
}

static string FindRoot()
{
    for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
    {
        if (File.Exists(Path.Combine(directory.FullName, "Conversations.sln")))
        {
            return directory.FullName;
        }
    }

    return Directory.GetCurrentDirectory();
}
