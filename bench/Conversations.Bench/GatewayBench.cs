using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Conversations.Bench;

/// <summary>
/// What this gateway adds to a model call. One run starts the simulated upstream, a bare YARP proxy in
/// front of it (the physical baseline), and the service (embedded default, durable state), then
/// measures each scenario against direct-to-upstream and the proxy in the same run.
/// </summary>
public static class GatewayBench
{
    internal const string Key = "sk-bench-admin";
    private static readonly int[] Connections = [1, 8, 64];

    public static async Task<(string Markdown, object Json, string Svg)> Run(string root, TimeSpan duration)
    {
        await Wrk.EnsureInstalled();
        var (upstreamPort, streamingPort, proxyPort, gatewayPort) = (BenchServers.FreePort(), BenchServers.FreePort(), BenchServers.FreePort(), BenchServers.FreePort());
        await using var upstream = await BenchServers.StartUpstream(upstreamPort, tokensPerSecond: 0);
        await using var streamingUpstream = await BenchServers.StartUpstream(streamingPort, tokensPerSecond: 1_000);
        await using var proxy = await BenchServers.StartProxy(proxyPort, new Uri($"http://127.0.0.1:{upstreamPort}/"));
        var data = Directory.CreateTempSubdirectory("conversations-bench-");
        using var gateway = await StartGateway(root, gatewayPort, data, upstreamPort, streamingPort);
        try
        {
            var direct = new Uri($"http://127.0.0.1:{upstreamPort}/v1/chat/completions");
            var viaProxy = new Uri($"http://127.0.0.1:{proxyPort}/v1/chat/completions");
            var gatewayBase = new Uri($"http://127.0.0.1:{gatewayPort}");
            var viaGateway = new Uri(gatewayBase, "/v1/chat/completions");
            const string chat = """{"model":"bench","max_tokens":64,"messages":[{"role":"user","content":"What does a gateway add to a model call?"}]}""";

            // Warm every target until tiered compilation settles: a first, cold measurement at one connection read 3x slow.
            foreach (var (url, key) in new[] { (direct, (string?)null), (viaProxy, null), (viaGateway, Key) })
            {
                await Wrk.Post("warm-up", url, chat, key, 8, TimeSpan.FromSeconds(5));
            }

            var stateless = new List<Measurement.Result>();
            foreach (var connections in Connections)
            {
                stateless.Add(await Wrk.Post("direct", direct, chat, null, connections, duration));
                stateless.Add(await Wrk.Post("proxy", viaProxy, chat, null, connections, duration));
                stateless.Add(await Wrk.Post("gateway", viaGateway, chat, Key, connections, duration));
            }

            var limitedKey = await CreateLimitedKey(gatewayBase);
            var quota = new[]
            {
                await Wrk.Post("gateway, key without limits", viaGateway, chat, Key, 64, duration),
                await Wrk.Post("gateway, key with limits (one hot tenant)", viaGateway, chat, limitedKey, 64, duration),
            };
            var streaming = await Streaming(streamingPort, gatewayBase);
            var stateful = await Stateful(gatewayBase, duration);
            var memory = await MemoryPerConversation(root, upstreamPort, streamingPort);
            return Report(stateless, quota, streaming, stateful, memory);
        }
        finally
        {
            gateway.Kill();
            await gateway.WaitForExitAsync();
            data.Delete(recursive: true);
        }
    }

    /// <summary>The service as its own process (embedded default, SQLite state under <paramref name="data"/>), routing "bench" and "bench-stream" to the upstreams and "bench-local" to the in-process simulated model.</summary>
    /// <param name="gen0Budget">The 64 MB first generation the run command and the AppHost give silos; off, the runtime's default.</param>
    /// <remarks>Socket completions run inline, as the run command and the AppHost set it (docs/operations.md, "Latency").</remarks>
    /// <param name="extra">More settings (environment variables), e.g. routes of a scenario's own.</param>
    /// <param name="build">Another build's silo output folder (<see cref="BenchServers.StartGateway"/>).</param>
    internal static Task<Process> StartGateway(
        string root, int gatewayPort, DirectoryInfo data, int upstreamPort, int streamingPort, bool gen0Budget = true, IReadOnlyDictionary<string, string>? extra = null,
        string? build = null) =>
        BenchServers.StartGateway(root, gatewayPort, new Dictionary<string, string>(extra ?? new Dictionary<string, string>())
        {
            ["CONVERSATIONS_API_KEY"] = Key,
            ["DOTNET_GCgen0size"] = gen0Budget ? "0x4000000" : "0",
            ["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = "1",
            ["Conversations__Cluster__LocalStoragePath"] = Path.Combine(data.FullName, "bench.db"),
            ["Conversations__Cluster__SiloPort"] = BenchServers.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Conversations__Cluster__GatewayPort"] = BenchServers.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Conversations__Routes__bench__Deployments__0__Name"] = "bench-upstream",
            ["Conversations__Routes__bench__Deployments__0__Provider"] = "OpenAICompatible",
            ["Conversations__Routes__bench__Deployments__0__BaseUrl"] = $"http://127.0.0.1:{upstreamPort}/v1",
            ["Conversations__Routes__bench-stream__Deployments__0__Name"] = "bench-stream-upstream",
            ["Conversations__Routes__bench-stream__Deployments__0__Provider"] = "OpenAICompatible",
            ["Conversations__Routes__bench-stream__Deployments__0__BaseUrl"] = $"http://127.0.0.1:{streamingPort}/v1",
            ["Conversations__Routes__bench-local__Deployments__0__Name"] = "bench-local",
            ["Conversations__Routes__bench-local__Deployments__0__Provider"] = "Simulated",
        }, build);

    internal static HttpClient Client(Uri baseAddress, string key = Key)
    {
        var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", key);
        return http;
    }

    private static async Task<string> CreateLimitedKey(Uri gateway)
    {
        using var http = Client(gateway);
        var limits = new { requests_per_minute = 10_000_000, tokens_per_minute = 1_000_000_000, max_concurrent_requests = 10_000, daily_cost_usd = 1_000_000 };
        (await http.PostAsJsonAsync("/v1/admin/tenants", new { id = "bench-hot", limits, user_limits = limits })).EnsureSuccessStatusCode();
        var key = await (await http.PostAsJsonAsync("/v1/admin/tenants/bench-hot/keys", new { name = "bench", limits })).Content.ReadFromJsonAsync<JsonElement>();
        return key.GetProperty("secret").GetString()!;
    }

    /// <summary>Time to first token and per-token overhead of streamed calls (50 tokens at 1,000 tokens/s upstream).</summary>
    private static async Task<StreamingResult> Streaming(int upstreamPort, Uri gateway)
    {
        const string body = """{"model":"bench-stream","stream":true,"messages":[{"role":"user","content":"[sim:tokens=50] stream"}]}""";
        var direct = await StreamTimes(Client(new Uri($"http://127.0.0.1:{upstreamPort}")), body);
        var viaGateway = await StreamTimes(Client(gateway), body);
        return new StreamingResult(direct, viaGateway);
    }

    private static async Task<StreamTiming> StreamTimes(HttpClient http, string body)
    {
        var firstTokens = new List<double>();
        var totals = new List<double>();
        var tokens = 0;
        for (var i = 0; i < 40; i++)
        {
            var started = Stopwatch.GetTimestamp();
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            double? first = null;
            tokens = 0;
            while (await reader.ReadLineAsync() is { } line)
            {
                if (line.Contains("\"content\":\"", StringComparison.Ordinal) && !line.Contains("\"content\":\"\"", StringComparison.Ordinal))
                {
                    first ??= Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    tokens++;
                }
            }

            if (i >= 5) // the first few warm up connections and activations
            {
                firstTokens.Add(first ?? double.NaN);
                totals.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }

        firstTokens.Sort();
        totals.Sort();
        return new StreamTiming(firstTokens[firstTokens.Count / 2], firstTokens[(int)(firstTokens.Count * 0.99)], totals[totals.Count / 2], tokens);
    }

    /// <summary>
    /// Turns through the Responses API with a conversation (durable state) against stateless chat through the gateway; then
    /// turns on conversations of <see cref="ShortConversation"/> and of <see cref="LongConversation"/> items, with the same
    /// 10-turn window, so the model sees the same and any difference is the cost of the history itself (its storage above all).
    /// </summary>
    private static async Task<Measurement.Result[]> Stateful(Uri gateway, TimeSpan duration)
    {
        const int callers = 16;
        using var http = Client(gateway);
        var conversations = await Task.WhenAll(Enumerable.Range(0, callers).Select(_ => CreateConversation(http, "{}")));
        var stateless = await Measurement.Run("gateway, stateless chat", callers, duration, async _ =>
            (await http.PostAsync("/v1/chat/completions", Json("""{"model":"bench","max_tokens":64,"messages":[{"role":"user","content":"hello"}]}"""))).EnsureSuccessStatusCode());
        var stateful = await Measurement.Run("gateway, turn with conversation", callers, duration, caller => Turn(http, conversations[caller]));
        var lengths = new List<Measurement.Result>();
        foreach (var items in new[] { ShortConversation, LongConversation })
        {
            var prefilled = await Task.WhenAll(Enumerable.Range(0, callers).Select(_ => Prefilled(http, items)));
            lengths.Add(await Measurement.Run($"gateway, turn with a conversation of {items:N0} items (window of 10 turns)", callers, duration, caller => Turn(http, prefilled[caller])));
        }

        return [stateless, stateful, .. lengths];
    }

    private const int ShortConversation = 20, LongConversation = 2_000;

    internal static async Task Turn(HttpClient http, string conversation) =>
        (await http.PostAsync("/v1/responses", Json($$"""{"model":"bench","max_output_tokens":64,"conversation":"{{conversation}}","input":"hello"}"""))).EnsureSuccessStatusCode();

    private static async Task<string> CreateConversation(HttpClient http, string body) =>
        (await (await http.PostAsync("/v1/conversations", Json(body))).EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

    /// <summary>A conversation with a 10-turn window and <paramref name="items"/> user messages, added 20 at a time (the API's most).</summary>
    internal static async Task<string> Prefilled(HttpClient http, int items)
    {
        var id = await CreateConversation(http, """{"context_policy":{"window_turns":10}}""");
        foreach (var batch in Enumerable.Range(0, items).Chunk(20))
        {
            var body = JsonSerializer.Serialize(new { items = batch.Select(i => new { role = "user", content = $"Message {i}: please add line {i} to the quarterly budget." }) });
            (await http.PostAsync($"/v1/conversations/{id}/items", Json(body))).EnsureSuccessStatusCode();
        }

        return id;
    }

    /// <summary>
    /// Resident memory added per active conversation (each created and given one turn), on a gateway of its own with the
    /// runtime's default GC budget: with a 64 MB first generation, new conversations fill memory freed gen0 regions already
    /// hold, and resident growth reads near zero. A warm-up batch first, so code and caches are not counted.
    /// </summary>
    private static async Task<(int Count, double BytesPerConversation)> MemoryPerConversation(string root, int upstreamPort, int streamingPort)
    {
        const int count = 2_000;
        var (port, data) = (BenchServers.FreePort(), Directory.CreateTempSubdirectory("conversations-memory-"));
        using var gateway = await StartGateway(root, port, data, upstreamPort, streamingPort, gen0Budget: false);
        try
        {
            using var http = Client(new Uri($"http://127.0.0.1:{port}"));
            await Converse(http, 0, 200);
            var before = BenchServers.ResidentBytes(gateway);
            await Converse(http, 200, count);
            return (count, (BenchServers.ResidentBytes(gateway) - before) / (double)count);
        }
        finally
        {
            gateway.Kill();
            await gateway.WaitForExitAsync();
            data.Delete(recursive: true);
        }
    }

    private static async Task Converse(HttpClient http, int first, int count)
    {
        using var gate = new SemaphoreSlim(32);
        await Task.WhenAll(Enumerable.Range(first, count).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                var id = await CreateConversation(http, "{}");
                (await http.PostAsync("/v1/responses", Json($$"""{"model":"bench","max_output_tokens":32,"conversation":"{{id}}","input":"remember me {{i}}"}"""))).EnsureSuccessStatusCode();
            }
            finally
            {
                gate.Release();
            }
        }));
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static (string, object, string) Report(
        List<Measurement.Result> stateless, Measurement.Result[] quota, StreamingResult streaming, Measurement.Result[] stateful, (int Count, double Bytes) memory)
    {
        var md = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        md.AppendLine(inv, $"# Gateway overhead ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, everything on this machine)");
        md.AppendLine();
        md.AppendLine("## Stateless chat completion (non-streaming), wrk");
        md.AppendLine();
        md.AppendLine("| connections | target | req/s | p50 ms | p99 ms | added p50 ms | added p99 ms | throughput vs direct | vs proxy |");
        md.AppendLine("|---:|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var group in stateless.GroupBy(r => r.Concurrency))
        {
            var direct = group.Single(r => r.Scenario == "direct");
            var proxy = group.Single(r => r.Scenario == "proxy");
            foreach (var r in group)
            {
                md.AppendLine(inv, $"| {r.Concurrency} | {r.Scenario} | {r.OpsPerSecond:N0} | {r.P50Ms:0.000} | {r.P99Ms:0.000} | {r.P50Ms - direct.P50Ms:0.000} | {r.P99Ms - direct.P99Ms:0.000} | {r.OpsPerSecond / direct.OpsPerSecond:0.00} | {r.OpsPerSecond / proxy.OpsPerSecond:0.00} |");
            }
        }

        md.AppendLine();
        md.AppendLine("## Streaming (50 tokens at 1,000 tokens/s upstream), sequential");
        md.AppendLine();
        md.AppendLine("| target | TTFT p50 ms | TTFT p99 ms | total p50 ms | tokens |");
        md.AppendLine("|---|---:|---:|---:|---:|");
        foreach (var (name, t) in new[] { ("direct", streaming.Direct), ("gateway", streaming.Gateway) })
        {
            md.AppendLine(inv, $"| {name} | {t.FirstTokenP50:0.00} | {t.FirstTokenP99:0.00} | {t.TotalP50:0.00} | {t.Tokens} |");
        }

        var interToken = ((streaming.Gateway.TotalP50 - streaming.Gateway.FirstTokenP50) - (streaming.Direct.TotalP50 - streaming.Direct.FirstTokenP50)) / Math.Max(1, streaming.Gateway.Tokens);
        md.AppendLine();
        md.AppendLine(inv, $"Added time to first token (p50): {streaming.Gateway.FirstTokenP50 - streaming.Direct.FirstTokenP50:0.00} ms; added inter-token time: {interToken:0.000} ms per token.");
        md.AppendLine();
        md.AppendLine("## Quota admission, one hot tenant (wrk, 64 connections)");
        md.AppendLine();
        Table(md, quota);
        md.AppendLine();
        md.AppendLine("## Stateful turns (Responses API with a conversation, durable SQLite state), 16 callers");
        md.AppendLine();
        Table(md, stateful);
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture,
            $"A turn on a conversation of {LongConversation:N0} items runs at {stateful[^1].OpsPerSecond / stateful[^2].OpsPerSecond:0.00} of the rate on one of {ShortConversation} items, with the same window: the history's cost per turn (storage writes the head and whole pages, not the history, docs/decisions/0011; the context builder reads only the turns it sends, 0025).");
        md.AppendLine();
        md.AppendLine(inv, $"## Memory: {memory.Bytes / 1024:0.0} KiB resident per active conversation ({memory.Count} conversations, one turn each, on a gateway with the default GC budget)");
        var json = new { stateless, streaming, quota, stateful, memory = new { conversations = memory.Count, bytes_per_conversation = memory.Bytes } };
        return (md.ToString(), json, Chart(stateless));
    }

    private static void Table(StringBuilder md, Measurement.Result[] rows)
    {
        md.AppendLine("| scenario | req/s | p50 ms | p99 ms | throughput ratio to first row |");
        md.AppendLine("|---|---:|---:|---:|---:|");
        foreach (var r in rows)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {r.Scenario} | {r.OpsPerSecond:N0} | {r.P50Ms:0.00} | {r.P99Ms:0.00} | {r.OpsPerSecond / rows[0].OpsPerSecond:0.00} |");
        }
    }

    /// <summary>p99 latency against connections for each target, as an SVG line chart.</summary>
    private static string Chart(List<Measurement.Result> results)
    {
        const int width = 640, height = 360, left = 60, bottom = 40, top = 30, right = 120;
        var max = results.Max(r => r.P99Ms) * 1.1;
        double X(int connections) => left + (width - left - right) * (Math.Log2(connections) / Math.Log2(Connections[^1]));
        double Y(double ms) => height - bottom - (height - bottom - top) * (ms / max);
        var svg = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        svg.AppendLine(inv, $"""<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">""");
        svg.AppendLine(inv, $"""<text x="{left}" y="18">p99 latency (ms) against connections: stateless chat completion</text>""");
        svg.AppendLine(inv, $"""<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="black"/><line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="black"/>""");
        foreach (var c in Connections)
        {
            svg.AppendLine(inv, $"""<text x="{X(c):0}" y="{height - bottom + 16}" text-anchor="middle">{c}</text>""");
        }

        for (var tick = 0; tick <= 4; tick++)
        {
            var ms = max * tick / 4;
            svg.AppendLine(inv, $"""<text x="{left - 6}" y="{Y(ms) + 4:0}" text-anchor="end">{ms:0.0}</text>""");
        }

        var colours = new Dictionary<string, string> { ["direct"] = "#2b7", ["proxy"] = "#27c", ["gateway"] = "#c33" };
        foreach (var (target, colour) in colours)
        {
            var points = string.Join(' ', results.Where(r => r.Scenario == target).Select(r => string.Create(inv, $"{X(r.Concurrency):0.0},{Y(r.P99Ms):0.0}")));
            svg.AppendLine(inv, $"""<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>""");
            var last = results.Last(r => r.Scenario == target);
            svg.AppendLine(inv, $"""<text x="{X(last.Concurrency) + 8:0}" y="{Y(last.P99Ms) + 4:0}" fill="{colour}">{target}</text>""");
        }

        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    private sealed record StreamTiming(double FirstTokenP50, double FirstTokenP99, double TotalP50, int Tokens);

    private sealed record StreamingResult(StreamTiming Direct, StreamTiming Gateway);
}
