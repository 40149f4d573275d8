using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Conversations.Audit;

namespace Conversations.Bench;

/// <summary>
/// The overview's errors per day for 30 days (decision 0090), at several call volumes: reading every call record of each
/// day and counting those with an error status (the earlier way, <see cref="IAuditGrain.ListCalls"/>) against reading
/// each day's tally (<see cref="IAuditGrain.CallErrors"/>), in alternating rounds on the same warm grains of one
/// in-process silo (memory storage: activation from real storage would add to the first way only).
/// </summary>
public static class OverviewErrorsBench
{
    private const int Days = 30;
    private static readonly int[] CallsPerDay = [100, 1_000, 5_000];

    public static async Task<(string Markdown, JsonObject Json)> Run(int rounds)
    {
        await using var cluster = await BenchServers.StartSilo();
        var grains = cluster.Client;

        var markdown = new StringBuilder();
        markdown.AppendLine(CultureInfo.InvariantCulture, $"# Overview errors per day, {Days} days ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores)");
        markdown.AppendLine();
        markdown.AppendLine("| calls per day | records read (ms, median of rounds) | spread | tallies read (ms, median) | spread | records / tallies |");
        markdown.AppendLine("|---:|---:|---:|---:|---:|---:|");
        var json = new JsonArray();
        foreach (var perDay in CallsPerDay)
        {
            var tenant = $"bench-{perDay}";
            var first = new DateOnly(2026, 11, 1);
            var days = Enumerable.Range(0, Days).Select(i => grains.GetGrain<IAuditGrain>(AuditKeys.Day(tenant, first.AddDays(i)))).ToList();
            foreach (var day in days)
            {
                var calls = Enumerable.Range(0, perDay).Select(i => Record(tenant, i % 10 == 0 ? 429 : 200)).ToList();
                foreach (var batch in calls.Chunk(AuditKeys.PageSize))
                {
                    await day.AppendCalls(Guid.NewGuid(), batch);
                }
            }

            async Task<int> ByRecords() => (await Task.WhenAll(days.Select(d => d.ListCalls()))).Sum(d => d.Count(r => r.Status >= 400));
            async Task<int> ByTallies() => (await Task.WhenAll(days.Select(d => d.CallErrors()))).Sum(d => d.Values.Sum());
            if (await ByRecords() != await ByTallies())
            {
                throw new InvalidOperationException("The tallies disagree with the records.");
            }

            var (records, tallies) = (new List<double>(), new List<double>());
            for (var round = 0; round < rounds; round++)
            {
                records.Add(await Time(ByRecords));
                tallies.Add(await Time(ByTallies));
            }

            records.Sort();
            tallies.Sort();
            var (r, t) = (records[records.Count / 2], tallies[tallies.Count / 2]);
            markdown.AppendLine(CultureInfo.InvariantCulture,
                $"| {perDay:N0} | {r:0.00} | {records[0]:0.00}–{records[^1]:0.00} | {t:0.00} | {tallies[0]:0.00}–{tallies[^1]:0.00} | {r / t:0.0} |");
            json.Add(new JsonObject
            {
                ["calls_per_day"] = perDay,
                ["records_ms"] = new JsonArray([.. records.Select(v => JsonValue.Create(v))]),
                ["tallies_ms"] = new JsonArray([.. tallies.Select(v => JsonValue.Create(v))]),
            });
        }

        markdown.AppendLine();
        markdown.AppendLine(CultureInfo.InvariantCulture, $"Each round reads all {Days} days once each way, in turn; {rounds} rounds; one call in ten has an error status.");
        return (markdown.ToString(), new JsonObject { ["days"] = Days, ["rounds"] = rounds, ["volumes"] = json });
    }

    /// <summary>One read of 30 days, timed after a warm-up read (activations, JIT).</summary>
    private static async Task<double> Time(Func<Task<int>> read)
    {
        await read();
        var started = Stopwatch.GetTimestamp();
        await read();
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    private static AuditRecord Record(string tenant, int status) => new(
        Ids.New("audit"), DateTimeOffset.UnixEpoch, tenant, "key_bench", tenant, "member", null, AuditRecord.CallAction, "sim-small", status, null, null);
}
