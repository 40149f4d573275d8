using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Conversations.Bench;

/// <summary>
/// Activating long conversations (decision 0044): the same stored conversations activated by a gateway that reads only the
/// newest item pages and by one that reads every page (<c>Conversations:Context:ResidentPages</c> large), in alternating
/// rounds on the same SQLite file. Each activation is one windowed <c>input_tokens</c> count (a turn's plan and build, no
/// model call, nothing written), so every round sees the same data. Reported: resident memory added per activated
/// conversation and the count's latency, the first call to each conversation.
/// </summary>
internal static class PagesBench
{
    private const int Conversations = 100, Items = 2_000;
    private const string Lazy = "newest pages", Eager = "every page";

    public static async Task<(string Markdown, JsonObject Json)> Run(string root, int rounds)
    {
        var data = Directory.CreateTempSubdirectory("conversations-pages-bench-");
        try
        {
            var ids = await Seed(root, data);
            var results = new Dictionary<string, List<(double BytesPerConversation, double P50, double P99)>> { [Lazy] = [], [Eager] = [] };
            for (var round = 0; round < rounds; round++)
            {
                foreach (var mode in round % 2 == 0 ? new[] { Lazy, Eager } : [Eager, Lazy])
                {
                    results[mode].Add(await Activate(root, data, ids, mode == Lazy ? "2" : "100000"));
                }
            }

            return Report(results, rounds);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    private static async Task<List<string>> Seed(string root, DirectoryInfo data)
    {
        var port = BenchServers.FreePort();
        using var gateway = await GatewayBench.StartGateway(root, port, data, BenchServers.FreePort(), BenchServers.FreePort());
        try
        {
            using var http = GatewayBench.Client(new Uri($"http://127.0.0.1:{port}"));
            using var gate = new SemaphoreSlim(8);
            return [.. await Task.WhenAll(Enumerable.Range(0, Conversations).Select(async _ =>
            {
                await gate.WaitAsync();
                try
                {
                    return await GatewayBench.Prefilled(http, Items);
                }
                finally
                {
                    gate.Release();
                }
            }))];
        }
        finally
        {
            gateway.Kill();
            await gateway.WaitForExitAsync();
        }
    }

    /// <summary>One gateway process: the first conversation warms it, then each of the others is activated once, one at a time.</summary>
    private static async Task<(double BytesPerConversation, double P50, double P99)> Activate(string root, DirectoryInfo data, List<string> ids, string residentPages)
    {
        var port = BenchServers.FreePort();
        using var gateway = await GatewayBench.StartGateway(root, port, data, BenchServers.FreePort(), BenchServers.FreePort(), gen0Budget: false,
            extra: new Dictionary<string, string> { ["Conversations__Context__ResidentPages"] = residentPages });
        try
        {
            using var http = GatewayBench.Client(new Uri($"http://127.0.0.1:{port}"));
            await Count(http, ids[0]);
            var before = BenchServers.ResidentBytes(gateway);
            var latencies = new List<double>();
            foreach (var id in ids.Skip(1))
            {
                var started = Stopwatch.GetTimestamp();
                await Count(http, id);
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }

            return ((BenchServers.ResidentBytes(gateway) - before) / (double)(ids.Count - 1), PerRequestLatency.Percentile(latencies, 0.5), PerRequestLatency.Percentile(latencies, 0.99));
        }
        finally
        {
            gateway.Kill();
            await gateway.WaitForExitAsync();
        }
    }

    private static async Task Count(HttpClient http, string id)
    {
        using var response = await http.PostAsync("/v1/responses/input_tokens",
            new StringContent($$"""{"model":"bench-local","conversation":"{{id}}","input":"hello"}""", Encoding.UTF8, "application/json"));
        var body = await response.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>();
        _ = body.GetProperty("input_tokens").GetInt32();
    }

    private static (string, JsonObject) Report(Dictionary<string, List<(double Bytes, double P50, double P99)>> results, int rounds)
    {
        var inv = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine(inv, $"# Activating long conversations ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores)");
        md.AppendLine();
        md.AppendLine(inv, $"{Conversations - 1} conversations of {Items:N0} items (a 10-turn window), each activated by one windowed `input_tokens` count on a fresh gateway;");
        md.AppendLine(inv, $"{rounds} alternating rounds per mode on the same SQLite file. Medians over rounds; the range is the rounds' spread. A noisy machine: read the ratios.");
        md.AppendLine();
        md.AppendLine("| activation reads | KiB resident per conversation | first call p50 ms | first call p99 ms |");
        md.AppendLine("|---|---:|---:|---:|");
        var json = new JsonObject();
        foreach (var (mode, runs) in results)
        {
            var (bytes, p50, p99) = (Median(runs.Select(r => r.Bytes)), Median(runs.Select(r => r.P50)), Median(runs.Select(r => r.P99)));
            md.AppendLine(inv, $"| {mode} | {bytes / 1024:0.0} ({runs.Min(r => r.Bytes) / 1024:0.0}–{runs.Max(r => r.Bytes) / 1024:0.0}) | {p50:0.00} ({runs.Min(r => r.P50):0.00}–{runs.Max(r => r.P50):0.00}) | {p99:0.00} |");
            json[mode] = new JsonObject { ["kib_per_conversation"] = bytes / 1024, ["p50_ms"] = p50, ["p99_ms"] = p99 };
        }

        var (lazy, eager) = (results[Lazy], results[Eager]);
        md.AppendLine();
        md.AppendLine(inv, $"Newest pages against every page: memory {Median(lazy.Select(r => r.Bytes)) / Median(eager.Select(r => r.Bytes)):0.00}x, first-call p50 {Median(lazy.Select(r => r.P50)) / Median(eager.Select(r => r.P50)):0.00}x.");
        return (md.ToString(), json);

        static double Median(IEnumerable<double> values) => PerRequestLatency.Percentile(values, 0.5);
    }
}
