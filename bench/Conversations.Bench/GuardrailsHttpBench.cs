using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Conversations.Bench;

/// <summary>
/// The guardrails end to end: the service as its own process in front of the simulated upstream (answering at once), two
/// tenants sending the same chat request (eight messages holding PII), one with every PII recognizer masking, injection
/// screening and audit text on, one with no guardrails. Rounds alternate which tenant goes first, at 1 and 64 connections,
/// in one run. Each request's gateway time is what the client waited less the upstream time the answer's
/// <c>Server-Timing</c> names; the guardrails' cost is the difference of the two tenants' percentiles and their throughput ratio.
/// </summary>
public static class GuardrailsHttpBench
{
    private static readonly int[] Connections = [1, 64];

    private static readonly string Body = JsonSerializer.Serialize(new
    {
        model = "bench",
        max_tokens = 64,
        messages = new object[]
        {
            new { role = "system", content = "You are the support assistant of an online shop. Be brief and polite." },
            new { role = "user", content = "Hello, my order ORD-2026-000123 has not arrived. I ordered it on 2026-11-30." },
            new { role = "assistant", content = "I am sorry to hear that. Could you give me the email address on the order?" },
            new { role = "user", content = "It is ana.garcia@example.com, and my phone is +44 20 7946 0958." },
            new { role = "assistant", content = "Thank you. I found the order; it left the warehouse on 2026-12-02 and is on its way." },
            new { role = "user", content = "Can you refund it to my card 4111 1111 1111 1111 instead? Or to GB82 WEST 1234 5698 7654 32." },
            new { role = "assistant", content = "I can start a refund once the parcel is returned. Version 2.15.0 of the app shows its status." },
            new { role = "user", content = "Fine. My address at work is 10.20.30.40 if that matters. Thanks for the help with all of this." },
        },
    });

    public static async Task<(string Markdown, JsonObject Json)> Run(string root, TimeSpan duration, int rounds)
    {
        var loadAtStart = BenchServers.LoadAverage();
        var (upstreamPort, gatewayPort) = (BenchServers.FreePort(), BenchServers.FreePort());
        await using var upstream = await BenchServers.StartUpstream(upstreamPort, tokensPerSecond: 0);
        var data = Directory.CreateTempSubdirectory("conversations-bench-");
        using var gateway = await GatewayBench.StartGateway(root, gatewayPort, data, upstreamPort, upstreamPort);
        try
        {
            var gatewayBase = new Uri($"http://127.0.0.1:{gatewayPort}");
            var url = new Uri(gatewayBase, "/v1/chat/completions");
            var keys = new Dictionary<string, string>
            {
                ["off"] = await CreateTenant(gatewayBase, "bench-plain", guarded: false),
                ["on"] = await CreateTenant(gatewayBase, "bench-guarded", guarded: true),
            };
            foreach (var key in keys.Values)
            {
                await Measure(url, key, 8, TimeSpan.FromSeconds(5)); // warm-up: tiered compilation settles
            }

            var runs = new List<Measured>();
            for (var round = 0; round < rounds; round++)
            {
                foreach (var connections in Connections)
                {
                    foreach (var variant in round % 2 == 0 ? new[] { "off", "on" } : ["on", "off"])
                    {
                        var (samples, perSecond) = await Measure(url, keys[variant], connections, duration);
                        runs.Add(new Measured(round, connections, variant, samples, perSecond));
                        Console.Error.WriteLine($"round {round}, {connections} connections, guardrails {variant}: {samples.Count} requests, {perSecond:0} per second");
                    }
                }
            }

            return Report(runs, duration, (loadAtStart, BenchServers.LoadAverage()));
        }
        finally
        {
            gateway.Kill();
            await gateway.WaitForExitAsync();
            data.Delete(recursive: true);
        }
    }

    /// <summary>A tenant with big limits and its key: guarded, every PII kind masked, injection flagged, audit text kept.</summary>
    private static async Task<string> CreateTenant(Uri gateway, string id, bool guarded)
    {
        using var http = GatewayBench.Client(gateway);
        var limits = new { requests_per_minute = 10_000_000, tokens_per_minute = 1_000_000_000, max_concurrent_requests = 10_000, daily_cost_usd = 1_000_000 };
        object tenant = guarded
            ? new
            {
                id, limits, user_limits = limits, audit_call_text = true,
                guardrails = new
                {
                    pii = new { action = "mask", entities = new[] { "email", "phone", "credit_card", "iban", "ip_address", "us_ssn", "secret" } },
                    injection = new { action = "flag" },
                },
            }
            : new { id, limits, user_limits = limits };
        (await http.PostAsJsonAsync("/v1/admin/tenants", tenant)).EnsureSuccessStatusCode();
        var key = await (await http.PostAsJsonAsync($"/v1/admin/tenants/{id}/keys", new { name = "bench", limits })).Content.ReadFromJsonAsync<JsonElement>();
        return key.GetProperty("secret").GetString()!;
    }

    /// <summary><paramref name="connections"/> keep-alive connections, each sending one request after another for <paramref name="duration"/>.</summary>
    private static async Task<(List<(double Total, double? Added)> Samples, double PerSecond)> Measure(Uri url, string key, int connections, TimeSpan duration)
    {
        var clients = Enumerable.Range(0, connections).Select(_ => new PerRequestLatency(url, Body, key)).ToList();
        var started = Stopwatch.StartNew();
        await Task.WhenAll(clients.Select(client => client.Run(duration)));
        var elapsed = started.Elapsed.TotalSeconds;
        var samples = clients.SelectMany(client => client.Samples).ToList();
        clients.ForEach(client => client.Dispose());
        return (samples, samples.Count / elapsed);
    }

    private static (string Markdown, JsonObject Json) Report(List<Measured> runs, TimeSpan duration, (string Start, string End) load)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"## Guardrails end to end, over HTTP ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, 2 cores, load average {load.Start} at the start, {load.End} at the end)");
        md.AppendLine();
        md.AppendLine("The service as its own process in front of the simulated upstream (answering at once); the same chat request (8 messages,");
        md.AppendLine("5 PII values) from two tenants: **on** masks every PII kind, screens for injection (flag) and keeps audit text; **off** has no guardrails.");
        md.AppendLine(CultureInfo.InvariantCulture, $"{runs.Max(r => r.Round) + 1} rounds of {duration.TotalSeconds:0} s per tenant and connection count, alternating which tenant goes first.");
        md.AppendLine("Gateway time per request: what the client waited less the upstream time in the answer's `Server-Timing`, pooled over the rounds.");
        md.AppendLine();
        md.AppendLine("| connections | guardrails | requests | gateway p50 ms | gateway p99 ms | requests/s (median round) |");
        md.AppendLine("|---:|---|---:|---:|---:|---:|");
        var json = new JsonArray();
        var summary = new StringBuilder();
        foreach (var connections in Connections)
        {
            var stats = new Dictionary<string, (double P50, double P99, double PerSecond, int Count)>();
            foreach (var variant in new[] { "off", "on" })
            {
                var of = runs.Where(r => r.Connections == connections && r.Variant == variant).ToList();
                var added = of.SelectMany(r => r.Samples).Where(s => s.Added is not null).Select(s => s.Added!.Value).ToList();
                stats[variant] = (PerRequestLatency.Percentile(added, 0.50), PerRequestLatency.Percentile(added, 0.99), Median(of.Select(r => r.PerSecond)), added.Count);
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"| {connections} | {variant} | {added.Count} | {stats[variant].P50:0.000} | {stats[variant].P99:0.000} | {stats[variant].PerSecond:0} |");
            }

            var ratios = runs.Where(r => r.Connections == connections && r.Variant == "on")
                .Select(on => on.PerSecond / runs.Single(off => off.Round == on.Round && off.Connections == connections && off.Variant == "off").PerSecond).ToList();
            var (p50, p99) = (stats["on"].P50 - stats["off"].P50, stats["on"].P99 - stats["off"].P99);
            summary.AppendLine(CultureInfo.InvariantCulture,
                $"| {connections} | {p50 * 1000:0} | {p99 * 1000:0} | {Median(ratios):0.00} ({ratios.Min():0.00} to {ratios.Max():0.00}) |");
            json.Add(new JsonObject
            {
                ["connections"] = connections,
                ["off"] = Stats(stats["off"]),
                ["on"] = Stats(stats["on"]),
                ["added_p50_us"] = Math.Round(p50 * 1000),
                ["added_p99_us"] = Math.Round(p99 * 1000),
                ["throughput_ratio_per_round"] = new JsonArray([.. ratios.Select(r => (JsonNode)Math.Round(r, 3))]),
            });
        }

        md.AppendLine();
        md.AppendLine("What the guardrails add (on less off) and the throughput with them against without, per round (median, range):");
        md.AppendLine();
        md.AppendLine("| connections | added p50 µs | added p99 µs | throughput on / off |");
        md.AppendLine("|---:|---:|---:|---:|");
        md.Append(summary);
        return (md.ToString(), new JsonObject { ["load_average"] = new JsonArray(load.Start, load.End), ["seconds"] = duration.TotalSeconds, ["runs"] = json });
    }

    private static JsonObject Stats((double P50, double P99, double PerSecond, int Count) s) => new()
    {
        ["requests"] = s.Count,
        ["p50_ms"] = Math.Round(s.P50, 3),
        ["p99_ms"] = Math.Round(s.P99, 3),
        ["requests_per_second"] = Math.Round(s.PerSecond),
    };

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }


    private sealed record Measured(int Round, int Connections, string Variant, List<(double Total, double? Added)> Samples, double PerSecond);
}
