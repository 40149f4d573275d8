using System.Diagnostics;
using System.Net;
using Conversations.Audit;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Drills;

/// <summary>
/// Issue 19, "never lost on a silo crash once the answer was sent" (decision 0045), with real processes: Azurite, one silo
/// that writes call records to the audit grains only once an hour, and an API process. Calls are answered (whole and
/// streamed), then the silo is killed by PID (SIGKILL) before any record was written to storage; a new silo process on
/// the same address and journal directory writes what the dead one journaled: every answered call has its record, once.
/// </summary>
[Collection(KillDrillCollection.Name)]
public sealed class CallAuditCrashDrill(DrillBackends backends)
{
    private const string AdminKey = "sk-audit-drill";
    private const int Calls = 24;

    /// <summary>No flush before the kill: without the journal, every record below would be lost.</summary>
    private static readonly Dictionary<string, string> HourlyFlush = new() { ["Conversations__Audit__FlushInterval"] = "01:00:00" };

    [Fact]
    public async Task Every_answered_call_has_its_audit_record_once_after_its_silo_is_killed_before_writing_any()
    {
        var log = TestContext.Current.TestOutputHelper;
        var total = Stopwatch.StartNew();
        await using var cluster = ProcessCluster.On(await backends.For(Backend.AzureStorage), "audit-drill", AdminKey);
        var silo = await cluster.StartSiloAsync("silo1", settings: HourlyFlush);
        var api = await cluster.StartApiAsync();
        using var http = cluster.Http(api);

        var firstDay = DateOnly.FromDateTime(DateTime.UtcNow);
        var users = Enumerable.Range(0, Calls).Select(i => $"audit-drill-{i}").ToList();
        await Parallel.ForEachAsync(users, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (user, cancellationToken) =>
        {
            var stream = user.EndsWith('0') || user.EndsWith('5') ? "true" : "false";
            using var response = await http.PostAsync("/v1/chat/completions", new StringContent(
                $$"""{"model":"sim-small","user":"{{user}}","stream":{{stream}},"messages":[{"role":"user","content":"Hello from {{user}}"}]}""",
                System.Text.Encoding.UTF8, "application/json"), cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken); // the whole answer, to its last byte
            Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        });
        var answered = total.Elapsed;

        await silo.Process.KillAsync();
        var sinceKill = Stopwatch.StartNew();
        await cluster.StartSiloAsync("silo1-restarted", silo.Port, HourlyFlush);
        var restarted = sinceKill.Elapsed;
        var grains = await cluster.Grains();
        var days = Enumerable.Range(0, DateOnly.FromDateTime(DateTime.UtcNow).DayNumber - firstDay.DayNumber + 1).Select(d => AuditKeys.Day("default", firstDay.AddDays(d)));
        var records = await Eventually.Get(async () =>
        {
            var calls = (await Task.WhenAll(days.Select(day => grains.GetGrain<IAuditGrain>(day).ListCalls()))).SelectMany(r => r).ToList();
            return users.All(user => calls.Any(r => r.Call?.EndUser == user)) ? calls : null;
        }, TimeSpan.FromSeconds(60));
        log?.WriteLine($"{Calls} calls answered {answered.TotalSeconds:F1} s into the drill; silo killed (pid {silo.Process.Id}), a new process on its port up {restarted.TotalSeconds:F1} s later; "
            + $"all {records.Count} records in the audit grains {sinceKill.Elapsed.TotalSeconds:F1} s after the kill.");

        Assert.All(users, user => Assert.Single(records, r => r.Call?.EndUser == user));
        Assert.All(records.Where(r => users.Contains(r.Call?.EndUser ?? "")), r => Assert.Equal(200, r.Status));
    }
}
