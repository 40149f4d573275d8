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
    private static readonly int[] Lengths = [20, 2_000, 20_000];

    public static (string Markdown, JsonArray Json) Run()
    {
        var builder = new ContextBuilder(TokenCounter.Shared);
        var rows = Lengths.Select(length => Measure(builder, length)).ToList();

        var markdown = new StringBuilder();
        markdown.AppendLine("## Context build time against history length (window of 10 turns)");
        markdown.AppendLine();
        markdown.AppendLine(CultureInfo.InvariantCulture, $"The builder alone, {Builds} builds per row after a warm-up, the same context sent each time.");
        markdown.AppendLine();
        markdown.AppendLine("| history, items | build p50 µs | p99 µs | allocated per build, bytes | p50 vs first row | allocated vs first row |");
        markdown.AppendLine("|---:|---:|---:|---:|---:|---:|");
        foreach (var row in rows)
        {
            markdown.AppendLine(CultureInfo.InvariantCulture,
                $"| {row.Items:N0} | {row.P50Us:0.0} | {row.P99Us:0.0} | {row.BytesPerBuild:N0} | {row.P50Us / rows[0].P50Us:0.00} | {row.BytesPerBuild / rows[0].BytesPerBuild:0.00} |");
        }

        return (markdown.ToString(), [.. rows.Select(r => (JsonNode)JsonSerializer.SerializeToNode(r, JsonOutput.Options)!)]);
    }

    private static Row Measure(ContextBuilder builder, int length)
    {
        const string text = "a message of about a dozen words on the quarterly budget and its cost";
        var tokens = TokenCounter.Shared.Count(text);
        List<ConversationItem> history = [.. Enumerable.Range(0, length).Select(i =>
            new ConversationItem($"msg_{i}", i % 2 == 0 ? Roles.User : Roles.Assistant, text, tokens, DateTimeOffset.UnixEpoch))];
        var inputs = new ContextInputs(null, new Dictionary<string, string>(), history,
            [new ConversationItem("msg_input", Roles.User, "and now?", 3, DateTimeOffset.UnixEpoch)], 100_000, new ContextPolicy(WindowTurns: 10));

        for (var i = 0; i < 50; i++)
        {
            Sent(builder.Build(inputs));
        }

        var times = new double[Builds];
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Builds; i++)
        {
            var started = Stopwatch.GetTimestamp();
            Sent(builder.Build(inputs));
            times[i] = Stopwatch.GetElapsedTime(started).TotalMicroseconds;
        }

        var bytes = (GC.GetAllocatedBytesForCurrentThread() - allocatedBefore) / (double)Builds;
        Array.Sort(times);
        return new Row(length, times[Builds / 2], times[(int)(Builds * 0.99)], bytes);
    }

    /// <summary>What a turn reads of a build: the messages it sends and its sections (for citations).</summary>
    private static void Sent(Result<BuiltContext> built)
    {
        if (built.Value is not { Messages.Count: 21 } context || context.Sections.Count == 0)
        {
            throw new InvalidOperationException("The build did not send the 10-turn window and the input.");
        }
    }

    private sealed record Row(int Items, double P50Us, double P99Us, double BytesPerBuild);
}
