using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Conversations.Bench;

/// <summary>The soak's tables, JSON and chart (<see cref="SoakBench"/>).</summary>
internal static class SoakReport
{
    private const double Flat = 0.10;

    public static (string Markdown, JsonObject Json, string Svg) Write(
        List<SoakBench.Soak> soaks, Dictionary<string, List<double>> pauses, Dictionary<string, SoakBench.PerConversation> perConversation, TimeSpan duration, TimeSpan warmUp)
    {
        var inv = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine(inv, $"# Soak: a steady mixed load for {duration.TotalMinutes:0.#} minutes ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, 2 cores shared with other engineers' builds, load average {BenchServers.LoadAverage()} at the end)");
        md.AppendLine();
        md.AppendLine(string.Create(inv, $"8 callers per gateway; each request's kind from a fixed rotation: 40% turns (Responses API) over {soaks[0].Conversations.Length} conversations with a 10-turn window (durable SQLite), 25% stateless chat, 15% streamed chat (20 tokens at 1,000 tokens/s), 15% embeddings, 5% injected upstream faults (`[sim:status=503]` on a route of their own). ")
            + (soaks.Count > 1 ? "Both builds run at the same time under the same load, each its own process. " : "")
            + string.Create(inv, $"Resident memory and threads sampled every 2 s; \"after warm-up\" is from {warmUp.TotalSeconds:0} s on; flat: the largest sample at most {Flat:P0} above the smallest. GC pauses: every pause after warm-up, read from the process over EventPipe (suspension to restart), less the two full GCs induced to read the managed heap (end of warm-up, end of the load)."));
        md.AppendLine();
        md.AppendLine("| build | requests | failed (not injected) | injected faults (answers) | resident MB after warm-up: first, min, max, last | flat | threads min–max | flat | managed heap MB after a full GC: end of warm-up, end | GC pauses | pause p50 ms | pause p99 ms | pause max ms |");
        md.AppendLine("|---|---:|---:|---|---|---|---|---|---|---:|---:|---:|---:|");
        var json = new JsonObject { ["duration_seconds"] = duration.TotalSeconds, ["warm_up_seconds"] = warmUp.TotalSeconds, ["load_average_at_end"] = BenchServers.LoadAverage() };
        foreach (var soak in soaks)
        {
            var after = soak.Samples.Where(sample => sample.Seconds >= warmUp.TotalSeconds).ToList();
            var (rssMin, rssMax) = (after.Min(s => s.Resident), after.Max(s => s.Resident));
            var (threadsMin, threadsMax) = (after.Min(s => s.Threads), after.Max(s => s.Threads));
            var rssFlat = rssMax <= rssMin * (1 + Flat);
            var threadsFlat = threadsMax <= threadsMin * (1 + Flat);
            var total = soak.Outcomes.Values.Sum();
            var failed = soak.Outcomes.Where(o => o.Key.Kind != "fault" && o.Key.Outcome != "200").Sum(o => o.Value);
            var faults = string.Join(", ", soak.Outcomes.Where(o => o.Key.Kind == "fault").OrderBy(o => o.Key.Outcome, StringComparer.Ordinal).Select(o => $"{o.Value:N0}× {o.Key.Outcome}"));
            var gc = pauses[soak.Name].Order().ToList();
            md.AppendLine(inv, $"| {soak.Name} | {total:N0} | {failed:N0} | {faults} | {Mb(after[0].Resident)}, {Mb(rssMin)}, {Mb(rssMax)}, {Mb(after[^1].Resident)} | {(rssFlat ? "yes" : "**no**")} ({(double)rssMax / rssMin - 1:P0}) | {threadsMin}–{threadsMax} | {(threadsFlat ? "yes" : "**no**")} | {Mb(soak.Heap[0])}, {Mb(soak.Heap[1])} | {gc.Count:N0} | {Percentile(gc, 0.5):0.0} | {Percentile(gc, 0.99):0.0} | {(gc.Count > 0 ? gc[^1] : 0):0.0} |");
            json[soak.Name] = new JsonObject
            {
                ["requests"] = total,
                ["failed_not_injected"] = failed,
                ["outcomes"] = new JsonObject(soak.Outcomes.OrderBy(o => o.Key.Kind, StringComparer.Ordinal).ThenBy(o => o.Key.Outcome, StringComparer.Ordinal)
                    .Select(o => KeyValuePair.Create<string, JsonNode?>($"{o.Key.Kind} {o.Key.Outcome}", o.Value))),
                ["resident_mb_after_warm_up"] = new JsonObject { ["first"] = Mb(after[0].Resident), ["min"] = Mb(rssMin), ["max"] = Mb(rssMax), ["last"] = Mb(after[^1].Resident), ["flat"] = rssFlat },
                ["managed_heap_mb_after_full_gc"] = new JsonObject { ["end_of_warm_up"] = Mb(soak.Heap[0]), ["end"] = Mb(soak.Heap[1]) },
                ["threads_after_warm_up"] = new JsonObject { ["min"] = threadsMin, ["max"] = threadsMax, ["flat"] = threadsFlat },
                ["gc_pauses_after_warm_up"] = new JsonObject { ["count"] = gc.Count, ["p50_ms"] = Math.Round(Percentile(gc, 0.5), 2), ["p99_ms"] = Math.Round(Percentile(gc, 0.99), 2), ["max_ms"] = gc.Count > 0 ? Math.Round(gc[^1], 2) : 0 },
                ["samples"] = new JsonArray([.. soak.Samples.Select(s => new JsonArray(Math.Round(s.Seconds, 1), Mb(s.Resident), s.Threads))]),
                ["kib_per_conversation_of_1000_items"] = new JsonObject
                {
                    ["resident"] = Math.Round(perConversation[soak.Name].Resident / 1024, 1),
                    ["managed_heap_after_full_gc"] = Math.Round(perConversation[soak.Name].Heap / 1024, 1),
                },
            };
        }

        md.AppendLine();
        md.AppendLine("| build | " + string.Join(" | ", SoakBench.Soak.KindsInOrder) + " |");
        md.AppendLine("|---|" + string.Concat(SoakBench.Soak.KindsInOrder.Select(_ => "---|")));
        foreach (var soak in soaks)
        {
            md.AppendLine($"| {soak.Name} | " + string.Join(" | ", SoakBench.Soak.KindsInOrder.Select(kind => string.Join(", ",
                soak.Outcomes.Where(o => o.Key.Kind == kind).OrderBy(o => o.Key.Outcome, StringComparer.Ordinal).Select(o => string.Create(inv, $"{o.Value:N0}× {o.Key.Outcome}"))))) + " |");
        }

        md.AppendLine();
        md.AppendLine("Memory per active conversation of 1,000 items (each given 1,000 user messages, 20 at a time, then one turn; 40 conversations after 4 for warm-up, on a gateway of its own with the runtime's default GC budget), resident and managed heap after a full GC (live objects): "
            + string.Join("; ", perConversation.Select(p => string.Create(inv, $"{p.Key} {p.Value.Resident / 1024:N1} KiB resident, {p.Value.Heap / 1024:N1} KiB heap"))) + ".");
        md.AppendLine();
        md.AppendLine("![resident memory and threads over time](soak.svg)");
        return (md.ToString(), json, Chart(soaks, warmUp));
    }

    private static long Mb(long bytes) => bytes / 1_000_000;

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    /// <summary>Resident memory (top) and threads (bottom) against time, a line per build, the end of warm-up dashed.</summary>
    private static string Chart(List<SoakBench.Soak> soaks, TimeSpan warmUp)
    {
        const int width = 720, panel = 180, left = 60, right = 110, top = 30, gap = 50;
        var inv = CultureInfo.InvariantCulture;
        var seconds = Math.Max(1, soaks.Max(s => s.Samples[^1].Seconds));
        var maxMb = soaks.Max(s => s.Samples.Max(x => x.Resident)) / 1_000_000.0 * 1.1;
        var maxThreads = soaks.Max(s => s.Samples.Max(x => x.Threads)) * 1.1;
        double X(double t) => left + (width - left - right) * (t / seconds);
        var svg = new StringBuilder();
        svg.AppendLine(inv, $"""<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{top + (2 * panel) + gap + 40}" font-family="sans-serif" font-size="12">""");
        var colours = new[] { "#27c", "#c33" };
        foreach (var (title, index, max, value) in new[] { ("resident memory (MB)", 0, maxMb, (Func<(double Seconds, long Resident, int Threads), double>)(s => s.Resident / 1_000_000.0)), ("threads", 1, maxThreads, s => s.Threads) })
        {
            var y0 = top + (index * (panel + gap)) + panel;
            double Y(double v) => y0 - (panel * (v / max));
            svg.AppendLine(inv, $"""<text x="{left}" y="{y0 - panel - 8}">{title} against seconds of the soak</text>""");
            svg.AppendLine(inv, $"""<line x1="{left}" y1="{y0}" x2="{width - right}" y2="{y0}" stroke="black"/><line x1="{left}" y1="{y0 - panel}" x2="{left}" y2="{y0}" stroke="black"/>""");
            svg.AppendLine(inv, $"""<line x1="{X(warmUp.TotalSeconds):0}" y1="{y0 - panel}" x2="{X(warmUp.TotalSeconds):0}" y2="{y0}" stroke="#999" stroke-dasharray="4 4"/>""");
            for (var tick = 0; tick <= 4; tick++)
            {
                svg.AppendLine(inv, $"""<text x="{left - 6}" y="{Y(max * tick / 4) + 4:0}" text-anchor="end">{max * tick / 4:0}</text>""");
                svg.AppendLine(inv, $"""<text x="{X(seconds * tick / 4):0}" y="{y0 + 16}" text-anchor="middle">{seconds * tick / 4:0}</text>""");
            }

            for (var i = 0; i < soaks.Count; i++)
            {
                var colour = colours[(i + colours.Length - soaks.Count) % colours.Length]; // this build is always red
                var points = string.Join(' ', soaks[i].Samples.Select(s => string.Create(inv, $"{X(s.Seconds):0.0},{Y(value(s)):0.0}")));
                svg.AppendLine(inv, $"""<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>""");
                svg.AppendLine(inv, $"""<text x="{X(soaks[i].Samples[^1].Seconds) + 8:0}" y="{Y(value(soaks[i].Samples[^1])) + 4 + (i * 14):0}" fill="{colour}">{soaks[i].Name}</text>""");
            }
        }

        svg.AppendLine("</svg>");
        return svg.ToString();
    }
}
