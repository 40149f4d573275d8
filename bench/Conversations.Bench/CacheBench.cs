using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Conversations.Bench;

/// <summary>
/// What a response-cache hit costs against a model call, in one run: the simulated upstream answering at once, the
/// service as its own process with one route to it that does not cache, one that caches exact answers and one that also
/// matches by meaning. At 1 and 64 connections (wrk, one body, so every cached request after the first is a hit): direct
/// to the upstream, the gateway with a model call (no cache), and the gateway answering from the cache. Then, at one
/// caller with a new question every request (every one a miss that is stored), the exact route against the semantic one:
/// what embedding, searching and indexing the question add to a miss.
/// </summary>
public static class CacheBench
{
    private const string Question = "What does a response cache save on a model call?";
    private static readonly int[] Connections = [1, 64];

    public static async Task<(string Markdown, JsonObject Json)> Run(string root, TimeSpan duration)
    {
        await Wrk.EnsureInstalled();
        var (upstreamPort, gatewayPort) = (BenchServers.FreePort(), BenchServers.FreePort());
        await using var upstream = await BenchServers.StartUpstream(upstreamPort, tokensPerSecond: 0);
        var data = Directory.CreateTempSubdirectory("conversations-cache-bench-");
        using var gateway = await GatewayBench.StartGateway(root, gatewayPort, data, upstreamPort, upstreamPort, extra: Routes(upstreamPort));
        try
        {
            var direct = new Uri($"http://127.0.0.1:{upstreamPort}/v1/chat/completions");
            var viaGateway = new Uri($"http://127.0.0.1:{gatewayPort}/v1/chat/completions");
            var targets = new (string Name, Uri Url, string Body, string? Key)[]
            {
                (Direct, direct, Chat("bench", Question), null),
                (Miss, viaGateway, Chat("bench", Question), GatewayBench.Key),
                (Hit, viaGateway, Chat("bench-cached", Question), GatewayBench.Key),
            };
            foreach (var (_, url, body, key) in targets)
            {
                await Wrk.Post("warm-up", url, body, key, 8, TimeSpan.FromSeconds(3)); // tiered compilation settles; the cached answer is stored
            }

            var measured = new List<Measurement.Result>();
            foreach (var connections in Connections)
            {
                foreach (var (name, url, body, key) in targets)
                {
                    measured.Add(await Wrk.Post(name, url, body, key, connections, duration));
                }
            }

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
            http.DefaultRequestHeaders.Authorization = new("Bearer", GatewayBench.Key);
            var before = WorkingSet(gateway);
            var exactMisses = await NewQuestions(http, viaGateway, "bench-cached", duration);
            var perEntry = (double)(WorkingSet(gateway) - before) / Math.Max(1, exactMisses.Stored);
            var semanticMisses = await NewQuestions(http, viaGateway, "bench-semantic", duration);
            return Report(measured, exactMisses, semanticMisses, perEntry, duration);
        }
        finally
        {
            gateway.Kill();
            await gateway.WaitForExitAsync();
            data.Delete(recursive: true);
        }
    }

    private const string Direct = "direct to the upstream";
    private const string Miss = "gateway, model call (route without cache)";
    private const string Hit = "gateway, cache hit";

    private static Dictionary<string, string> Routes(int upstreamPort)
    {
        var routes = new Dictionary<string, string>();
        foreach (var (alias, mode) in new[] { ("bench-cached", "Exact"), ("bench-semantic", "Semantic") })
        {
            routes[$"Conversations__Routes__{alias}__Deployments__0__Name"] = alias + "-upstream";
            routes[$"Conversations__Routes__{alias}__Deployments__0__Provider"] = "OpenAICompatible";
            routes[$"Conversations__Routes__{alias}__Deployments__0__BaseUrl"] = $"http://127.0.0.1:{upstreamPort}/v1";
            routes[$"Conversations__Routes__{alias}__Cache__Mode"] = mode;
        }

        return routes;
    }

    /// <summary>The gateway process's resident memory.</summary>
    private static long WorkingSet(System.Diagnostics.Process gateway)
    {
        gateway.Refresh();
        return gateway.WorkingSet64;
    }

    private static string Chat(string model, string question) =>
        $$"""{"model":"{{model}}","max_tokens":64,"messages":[{"role":"user","content":"{{question}}"}]}""";

    /// <summary>
    /// One caller asking a question never asked before on every request, made of words drawn at random (a numbered
    /// template would be a paraphrase of itself, a semantic hit): each one a miss, stored. A rare semantic hit is counted.
    /// </summary>
    private static async Task<(Measurement.Result Result, int Hits, int Stored)> NewQuestions(HttpClient http, Uri url, string model, TimeSpan duration)
    {
        var random = new Random(17);
        var (hits, stored) = (0, 0);
        var result = await Measurement.Run(model, 1, duration, async () =>
        {
            var question = string.Join(' ', Enumerable.Range(0, 8).Select(_ => Words[random.Next(Words.Length)])) + "?";
            using var content = new StringContent(Chat(model, question), Encoding.UTF8, "application/json");
            using var response = await http.PostAsync(url, content);
            var cache = response.Headers.TryGetValues("x-conversations-cache", out var values) ? string.Join(',', values) : "none";
            if (!response.IsSuccessStatusCode || cache is not ("miss" or "hit"))
            {
                throw new InvalidOperationException($"{model}: expected a miss, got {(int)response.StatusCode}, cache {cache}: {await response.Content.ReadAsStringAsync()}");
            }

            hits += cache == "hit" ? 1 : 0;
            stored += cache == "miss" ? 1 : 0;
        });
        return (result, hits, stored);
    }

    private static readonly string[] Words =
    [
        "river", "engine", "garden", "violin", "glacier", "invoice", "tomato", "satellite", "lantern", "harbor", "pepper", "comet",
        "ledger", "meadow", "piston", "sonnet", "canyon", "wallet", "orchid", "turbine", "pillow", "volcano", "recipe", "falcon",
        "compiler", "blanket", "desert", "mortgage", "trumpet", "coral", "tractor", "saddle", "nebula", "kettle", "marble", "python",
        "bicycle", "chimney", "vaccine", "granite", "spreadsheet", "lobster", "tunnel", "anchor", "yogurt", "magnet", "forest", "helmet",
        "cathedral", "spinach", "rocket", "passport", "walnut", "thunder", "ballet", "router", "cactus", "ferry", "sculpture", "oyster",
        "battery", "quartz", "poetry", "carpet", "telescope", "lemon", "bridge", "puzzle", "tornado", "wheat", "guitar", "asteroid",
    ];

    private static (string, JsonObject) Report(
        List<Measurement.Result> measured, (Measurement.Result Result, int Hits, int Stored) exactMisses, (Measurement.Result Result, int Hits, int Stored) semanticMisses,
        double bytesPerEntry, TimeSpan duration)
    {
        var inv = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine(inv, $"# Response cache: a hit against a model call ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores)");
        md.AppendLine();
        md.AppendLine(inv, $"wrk for {duration.TotalSeconds:0} s per row after a 1 s warm-up; the simulated upstream answers at once, so a model call here is");
        md.AppendLine("the gateway's own work plus one loopback HTTP exchange. A noisy, shared 2-core machine: compare ratios within this run, not figures across runs.");
        md.AppendLine();
        md.AppendLine("| connections | target | req/s | p50 ms | p99 ms | p50 against the model call | p50 against direct | req/s against the model call |");
        md.AppendLine("|---:|---|---:|---:|---:|---:|---:|---:|");
        var json = new JsonObject { ["seconds"] = duration.TotalSeconds };
        foreach (var group in measured.GroupBy(r => r.Concurrency))
        {
            var miss = group.Single(r => r.Scenario == Miss);
            var direct = group.Single(r => r.Scenario == Direct);
            var rows = new JsonObject();
            foreach (var row in group)
            {
                var (overMiss, overDirect, rate) = (row.P50Ms / miss.P50Ms, row.P50Ms / direct.P50Ms, row.OpsPerSecond / miss.OpsPerSecond);
                md.AppendLine(inv, $"| {group.Key} | {row.Scenario} | {row.OpsPerSecond:N0} | {row.P50Ms:0.000} | {row.P99Ms:0.000} | {overMiss:0.00} | {overDirect:0.00} | {rate:0.00} |");
                rows[row.Scenario] = new JsonObject
                {
                    ["requests_per_second"] = row.OpsPerSecond, ["p50_ms"] = row.P50Ms, ["p99_ms"] = row.P99Ms,
                    ["p50_over_model_call"] = overMiss, ["p50_over_direct"] = overDirect, ["throughput_over_model_call"] = rate,
                };
            }

            json[$"connections_{group.Key}"] = rows;
        }

        md.AppendLine();
        var (exact, semantic) = (exactMisses.Result, semanticMisses.Result);
        md.AppendLine("Misses, one caller, a new question of eight random words each request (each stored; the semantic route also embeds it");
        md.AppendLine("with the local model, searches its index, and indexes it; the index grows through the run):");
        md.AppendLine();
        md.AppendLine("| route | requests/s | p50 ms | p99 ms | semantic hits among them |");
        md.AppendLine("|---|---:|---:|---:|---:|");
        foreach (var (row, hits, _) in new[] { exactMisses, semanticMisses })
        {
            md.AppendLine(inv, $"| {row.Scenario} | {row.OpsPerSecond:N1} | {row.P50Ms:0.000} | {row.P99Ms:0.000} | {hits} |");
        }

        md.AppendLine();
        md.AppendLine(inv, $"A semantic miss adds {semantic.P50Ms - exact.P50Ms:0.000} ms at p50 ({semantic.P50Ms / exact.P50Ms:0.00}x an exact miss).");
        md.AppendLine(inv, $"Memory per stored entry (exact route): {bytesPerEntry / 1024:0.0} KiB, the gateway's resident memory grown over the {exactMisses.Stored:N0}");
        md.AppendLine("answers it stored (a 64-token answer each, an entry grain each, plus the tenant directory's record). Rough: it counts what");
        md.AppendLine("the GC has not collected yet, and misses what fit in memory the process already held.");
        json["bytes_per_entry"] = bytesPerEntry;
        json["misses"] = new JsonObject
        {
            ["exact_p50_ms"] = exact.P50Ms, ["semantic_p50_ms"] = semantic.P50Ms, ["exact_p99_ms"] = exact.P99Ms, ["semantic_p99_ms"] = semantic.P99Ms,
            ["semantic_added_p50_ms"] = semantic.P50Ms - exact.P50Ms,
        };
        return (md.ToString(), json);
    }
}
