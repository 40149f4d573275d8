using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Conversations.Context;
using Conversations.Grains.Context;
using Conversations.Providers;

namespace Conversations.Bench;

/// <summary>
/// The context builder alone, on histories of growing length under the same 10-turn window: the model sees the same
/// context each time, so what grows with the history is the builder reading older items it leaves out. Time per build
/// and bytes allocated per build (the steadier of the two), against the shortest history.
/// </summary>
public static class ContextBuildBench
{
    private const int Builds = 500;
    private static readonly (int Items, int Summarized)[] Histories = [(20, 0), (2_000, 0), (20_000, 0), (20_000, 19_000)];

    public static (string Markdown, JsonArray Json) Run()
    {
        var builder = new ContextBuilder(TokenCounter.Shared);
        var rows = Histories.Select(history => Measure(builder, history.Items, history.Summarized)).ToList();

        var markdown = new StringBuilder();
        markdown.AppendLine("## Context build time against history length (window of 10 turns)");
        markdown.AppendLine();
        markdown.AppendLine(CultureInfo.InvariantCulture, $"The builder alone, {Builds} builds per row after a warm-up, the same context sent each time.");
        markdown.AppendLine();
        markdown.AppendLine("| history, items | under a summary | build p50 µs | p99 µs | allocated per build, bytes | p50 vs first row | allocated vs first row |");
        markdown.AppendLine("|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var row in rows)
        {
            markdown.AppendLine(CultureInfo.InvariantCulture,
                $"| {row.Items:N0} | {(row.Summarized > 0 ? $"the first {row.Summarized:N0}" : "none")} | {row.P50Us:0.0} | {row.P99Us:0.0} | {row.BytesPerBuild:N0} | {row.P50Us / rows[0].P50Us:0.00} | {row.BytesPerBuild / rows[0].BytesPerBuild:0.00} |");
        }

        return (markdown.ToString(), [.. rows.Select(r => (JsonNode)JsonSerializer.SerializeToNode(r, JsonOutput.Options)!)]);
    }

    private static Row Measure(ContextBuilder builder, int length, int summarized)
    {
        const string text = "a message of about a dozen words on the quarterly budget and its cost";
        var tokens = TokenCounter.Shared.Count(text);
        List<ConversationItem> history = [.. Enumerable.Range(0, length).Select(i =>
            new ConversationItem($"msg_{i}", i % 2 == 0 ? Roles.User : Roles.Assistant, text, tokens, DateTimeOffset.UnixEpoch))];
        var summary = summarized == 0 ? null
            : new ConversationSummary("What was said about the budget, in a few words.", history[summarized - 1].Id, summarized, DateTimeOffset.UnixEpoch, "bench");
        var inputs = new ContextInputs(null, new Dictionary<string, string>(), history,
            [new ConversationItem("msg_input", Roles.User, "and now?", 3, DateTimeOffset.UnixEpoch)], 100_000, new ContextPolicy(WindowTurns: 10), summary);
        var sent = summary is null ? 21 : 22; // the 10 turns and the input, and the summary

        for (var i = 0; i < 50; i++)
        {
            Sent(builder.Build(inputs), sent);
        }

        var times = new double[Builds];
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Builds; i++)
        {
            var started = Stopwatch.GetTimestamp();
            Sent(builder.Build(inputs), sent);
            times[i] = Stopwatch.GetElapsedTime(started).TotalMicroseconds;
        }

        var bytes = (GC.GetAllocatedBytesForCurrentThread() - allocatedBefore) / (double)Builds;
        Array.Sort(times);
        return new Row(length, summarized, times[Builds / 2], times[(int)(Builds * 0.99)], bytes);
    }

    /// <summary>What a turn reads of a build: the messages it sends.</summary>
    private static void Sent(Result<BuiltContext> built, int messages)
    {
        if (built.Value?.Messages.Count != messages)
        {
            throw new InvalidOperationException("The build did not send the 10 turns, the input and the summary it should have.");
        }
    }

    private sealed record Row(int Items, int Summarized, double P50Us, double P99Us, double BytesPerBuild);
}
