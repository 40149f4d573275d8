using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Conversations.Tenancy;
using Conversations.Tests.Api;
using Conversations.Tests.Hosting;
using Conversations.Tests.Infrastructure;
using Conversations.Tests.Tenancy;

namespace Conversations.Tests.Drills;

/// <summary>
/// Issue 24, "Exact through a crash", with real processes: a backend server (Azurite; PostgreSQL for the first drill
/// too), three silos and two API processes. Tenants fill
/// their minute's request limit through both APIs, then one silo is killed by PID (SIGKILL) and, still within that
/// minute, every tenant is probed again through both APIs: a limit that holds exactly across the cluster admits none
/// of those calls, whichever silo held the tenant's quota grain. Meanwhile conversation turns race the failover with
/// Idempotency-Keys, and each acknowledged turn ends up written exactly once, in order.
/// </summary>
[Collection(KillDrillCollection.Name)]
public sealed class QuotaCrashDrill(DrillBackends backends)
{
    private const string AdminKey = "sk-quota-drill";
    private const int Tenants = 6;
    private const int Limit = 10;
    private const int FillCalls = Limit + 2;
    private const int ProbeCalls = Limit;
    private const int Writers = 4;
    private const int TurnsPerWriter = 6;
    private const int MaxAttempts = 30;

    /// <summary>
    /// Every probe must end this soon after the fill began: each admission of the fill stays in its tenant's sliding window
    /// for a minute from its own moment, which is no earlier than the fill's start (the margin covers clock reads).
    /// </summary>
    private static readonly TimeSpan SameMinute = TimeSpan.FromSeconds(55);

    [Theory]
    [InlineData(Backend.AzureStorage)]
    [InlineData(Backend.PostgreSql)]
    public Task Killing_a_silo_gives_no_tenant_a_call_more_in_the_minute_it_filled_and_writes_no_turn_twice(Backend backend) =>
        Run(backend, victimJoinsAfterFill: false);

    /// <summary>On Azure Storage only: what it adds (a newcomer's directory ranges) does not depend on the backend.</summary>
    [Fact]
    public Task Killing_a_silo_that_joined_after_the_fill_gives_no_tenant_a_call_more_in_that_minute_and_writes_no_turn_twice() =>
        Run(Backend.AzureStorage, victimJoinsAfterFill: true);

    private async Task Run(Backend backend, bool victimJoinsAfterFill)
    {
        var log = TestContext.Current.TestOutputHelper;
        var total = Stopwatch.StartNew();
        await using var cluster = ProcessCluster.On(await backends.For(backend), "quota-drill", AdminKey);
        var silos = new List<ProcessCluster.Silo> { await cluster.StartSiloAsync("silo1") };
        var apisStarting = Task.WhenAll(cluster.StartApiAsync(), cluster.StartApiAsync());
        silos.AddRange(await Task.WhenAll(victimJoinsAfterFill
            ? new[] { cluster.StartSiloAsync("silo2") }
            : new[] { cluster.StartSiloAsync("silo2"), cluster.StartSiloAsync("silo3") }));
        var apiProcesses = await apisStarting;
        using var api1 = Http(apiProcesses[0]);
        using var api2 = Http(apiProcesses[1]);
        HttpClient[] apis = [api1, api2];
        var grains = await cluster.Grains();
        var tenants = await Task.WhenAll(Enumerable.Range(0, Tenants).Select(_ => CreateTenant(api1, grains)));
        var conversations = victimJoinsAfterFill ? [] : await OpenConversations(apis);
        var race = victimJoinsAfterFill ? null : new TurnRace(apis, conversations);
        await (race?.Halfway ?? Task.CompletedTask); // so that the kill can follow the fill at once
        log?.WriteLine($"{silos.Count} silos and 2 APIs up, tenants and conversations created in {total.Elapsed.TotalSeconds:F1} s.");

        var sinceFill = Stopwatch.StartNew();
        var filled = await Task.WhenAll(tenants.Select(tenant => Fill(apis, tenant)));
        var fillEnded = sinceFill.Elapsed;
        var atFill = await cluster.Activations(GrainsOf(tenants, conversations, grains));
        log?.WriteLine($"Filled {Tenants} tenants ({FillCalls} calls each at once, limit {Limit}/min) in {sinceFill.Elapsed.TotalSeconds:F1} s; their quota grains: "
            + string.Join(", ", tenants.Select(t => atFill[t.Quota]).GroupBy(Hosts).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Count()} on {g.Key}")) + ".");

        ProcessCluster.Silo victim;
        Probe[]? afterJoin = null;
        if (victimJoinsAfterFill)
        {
            victim = await cluster.StartSiloAsync("silo3");
            await Eventually.Get(async () => (await cluster.ActiveSilos()).Contains(victim.Name) ? victim : null, TimeSpan.FromSeconds(30));
            log?.WriteLine($"{victim.Name} joined {sinceFill.Elapsed.TotalSeconds:F1} s after the fill began.");
            var probing = Task.WhenAll(tenants.Select(tenant => ProbeTenant(apis, tenant, calls: 2)));
            conversations = await OpenConversations(apis); // placed on a cluster that includes the newcomer
            race = new TurnRace(apis, conversations);
            afterJoin = await probing;
            await race.Halfway;
        }
        else
        {
            victim = silos.MaxBy(silo => tenants.Count(t => atFill[t.Quota].Contains(silo.Name)))!; // hosts a quota grain; others may too
        }

        var beforeKill = victimJoinsAfterFill ? await cluster.Activations(GrainsOf(tenants, conversations, grains)) : atFill;
        await victim.Process.KillAsync();
        var killedAfterFill = sinceFill.Elapsed - fillEnded;
        var sinceKill = Stopwatch.StartNew();
        race!.SiloKilled();
        await cluster.WaitUntilServingWithout(victim, apiProcesses, TimeSpan.FromSeconds(45));
        var servingAfter = sinceKill.Elapsed;

        var afterKill = await Task.WhenAll(tenants.Select(tenant => ProbeTenant(apis, tenant, ProbeCalls)));
        var probedBy = sinceFill.Elapsed;
        var refusals = await race.Finished;
        var afterCrash = await cluster.Activations(GrainsOf(tenants, conversations, grains));
        var items = await Task.WhenAll(conversations.Select(c => c.ItemsAsync()));

        log?.WriteLine($"Killed {victim.Name} (pid {victim.Process.Id}) {killedAfterFill.TotalSeconds:F1} s after the fill's last answer; the cluster served again {servingAfter.TotalSeconds:F1} s later; "
            + $"the probes ended {probedBy.TotalSeconds:F1} s after the fill began; whole drill {total.Elapsed.TotalSeconds:F1} s.");
        log?.WriteLine(QuotaTable(tenants, atFill, beforeKill, afterCrash, filled, afterJoin, afterKill));
        log?.WriteLine(ConversationTable(conversations, beforeKill, afterCrash, grains, refusals, items));
        foreach (var survivor in silos.Where(silo => silo != victim))
        {
            foreach (var line in survivor.Process.Output.Split(Environment.NewLine).Where(l => l.Contains("primary directory partition", StringComparison.Ordinal)))
            {
                log?.WriteLine($"{survivor.Name}: {line.Trim()}");
            }
        }

        Assert.Multiple(
            () => Assert.True(probedBy < SameMinute,
                $"The probes ended {probedBy.TotalSeconds:F1} s after the fill began, later than {SameMinute.TotalSeconds} s: this machine is too slow "
                + "to probe within the fill's minute, so admissions after the kill prove nothing here."),
            () => Assert.All(conversations.Select((c, i) => (c.Id, Items: items[i])), conversation =>
            {
                var inputs = conversation.Items.Where(i => i.Role == "user").Select(i => i.Text).Where(t => t.StartsWith("turn ", StringComparison.Ordinal));
                Assert.Equal(Enumerable.Range(0, TurnsPerWriter).Select(t => $"turn {t}"), inputs);
                Assert.Equal(conversation.Items.Count, 2 * conversation.Items.Count(i => i.Role == "user"));
            }),
            () => Assert.All(afterKill.Concat(afterJoin ?? []), probe => Assert.Empty(probe.Unanswered)),
            () => Assert.True(afterKill.Sum(p => p.Admitted) + (afterJoin?.Sum(p => p.Admitted) ?? 0) == 0,
                $"Tenants that had used their {Limit} calls of the minute were admitted again within it: "
                + string.Join(", ", tenants.Select((t, i) => $"{t.Id} +{afterKill[i].Admitted + (afterJoin?[i].Admitted ?? 0)}"))
                + $" (0 due each; {victim.Name} killed)."));
    }

    private static HttpClient Http(ServiceProcess api) => new() { BaseAddress = api.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    private static async Task<Tenant> CreateTenant(HttpClient api, IGrainFactory grains)
    {
        using var admin = new HttpClient { BaseAddress = api.BaseAddress };
        admin.DefaultRequestHeaders.Authorization = new("Bearer", AdminKey);
        var tenants = new TenantClient(admin);
        var id = await tenants.CreateTenant();
        var (_, secret) = await tenants.CreateKey(id, extra: new { limits = new { requests_per_minute = Limit } });
        return new Tenant(id, secret, grains.GetGrain<ITenantQuotaGrain>(id).GetGrainId());
    }

    /// <summary>Sends more calls than the limit at once, alternating the API processes: exactly the limit is admitted.</summary>
    private static async Task<int> Fill(HttpClient[] apis, Tenant tenant)
    {
        var answers = await Task.WhenAll(Enumerable.Range(0, FillCalls).Select(call => Chat(apis[call % apis.Length], tenant.Secret, $"fill {call}")));
        var statuses = answers.Select(a => a.Status).ToList();
        var admitted = statuses.Count(s => s == HttpStatusCode.OK);
        Assert.True(admitted == Limit && statuses.Count(s => s == HttpStatusCode.TooManyRequests) == FillCalls - Limit,
            $"Filling {tenant.Id}: {string.Join(", ", statuses.Select(s => (int)s))}");
        return admitted;
    }

    /// <summary>
    /// Sends calls at once, alternating the API processes; a 503 (the cluster still failing over) is retried until the
    /// call is answered, so every probe ends as an admission (200) or a refusal (429).
    /// </summary>
    private static async Task<Probe> ProbeTenant(HttpClient[] apis, Tenant tenant, int calls)
    {
        var answers = await Task.WhenAll(Enumerable.Range(0, calls).Select(async call =>
        {
            for (var attempt = 1; ; attempt++)
            {
                var answer = await Chat(apis[(call + attempt) % apis.Length], tenant.Secret, $"probe {call}");
                if (answer.Status != HttpStatusCode.ServiceUnavailable || attempt == MaxAttempts)
                {
                    return (Answer: answer, Retried: attempt - 1);
                }

                await Task.Delay(answer.RetryAfter);
            }
        }));
        return new Probe(
            answers.Count(a => a.Answer.Status == HttpStatusCode.OK),
            answers.Count(a => a.Answer.Status == HttpStatusCode.TooManyRequests),
            answers.Sum(a => a.Retried),
            [.. answers.Where(a => a.Answer.Status is not (HttpStatusCode.OK or HttpStatusCode.TooManyRequests)).Select(a => $"{(int)a.Answer.Status}: {a.Answer.Body}")]);
    }

    private static async Task<Answer> Chat(HttpClient api, string secret, string text)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = ChatCompletionsTests.Json(JsonSerializer.Serialize(new { model = "sim-small", messages = new[] { new { role = "user", content = text } } })),
        };
        request.Headers.Authorization = new("Bearer", secret);
        try
        {
            using var response = await api.SendAsync(request);
            return new Answer(response.StatusCode, await response.Content.ReadAsStringAsync(), RetryDelay(response));
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
        {
            return new Answer(0, exception.GetType().Name + ": " + exception.Message, TimeSpan.FromSeconds(1));
        }
    }

    private static TimeSpan RetryDelay(HttpResponseMessage response)
    {
        var asked = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1);
        return asked > TimeSpan.FromSeconds(2) ? TimeSpan.FromSeconds(2) : asked;
    }

    private static async Task<List<HttpConversation>> OpenConversations(HttpClient[] apis)
    {
        var opened = await Task.WhenAll(Enumerable.Range(0, Writers).Select(async writer =>
        {
            var http = new HttpClient { BaseAddress = apis[writer % apis.Length].BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
            http.DefaultRequestHeaders.Authorization = new("Bearer", AdminKey);
            var conversation = await HttpConversation.CreateAsync(http);
            await conversation.TurnAsync("warm up");
            return conversation;
        }));
        return [.. opened];
    }

    private static IEnumerable<GrainId> GrainsOf(Tenant[] tenants, List<HttpConversation> conversations, IGrainFactory grains) =>
        tenants.Select(t => t.Quota).Concat(conversations.Select(c => ConversationGrain(grains, c.Id)));

    private static GrainId ConversationGrain(IGrainFactory grains, string conversationId) =>
        grains.GetGrain<IConversationGrain>(GrainKeys.For("default", conversationId)).GetGrainId();

    private static string QuotaTable(
        Tenant[] tenants, Dictionary<GrainId, List<string>> atFill, Dictionary<GrainId, List<string>> beforeKill, Dictionary<GrainId, List<string>> afterCrash,
        int[] filled, Probe[]? afterJoin, Probe[] afterKill)
    {
        var table = new StringBuilder();
        table.AppendLine(CultureInfo.InvariantCulture,
            $"{"tenant",-16} {"quota grain at fill",-19} {"before kill",-12} {"after kill",-18} {"filled",6} {"due",4} {(afterJoin is null ? "" : "admitted after join ")}{"admitted after kill",19} {"refused",7} {"503s",5}");
        for (var i = 0; i < tenants.Length; i++)
        {
            var join = afterJoin is null ? "" : $"{afterJoin[i].Admitted + "/" + (afterJoin[i].Admitted + afterJoin[i].Refused),19} ";
            var unanswered = afterKill[i].Unanswered.Count > 0 ? "  unanswered: " + string.Join("; ", afterKill[i].Unanswered) : "";
            table.AppendLine(CultureInfo.InvariantCulture,
                $"{tenants[i].Id,-16} {Hosts(atFill[tenants[i].Quota]),-19} {Hosts(beforeKill[tenants[i].Quota]),-12} {Hosts(afterCrash[tenants[i].Quota]),-18} {filled[i],6} {0,4} {join}{afterKill[i].Admitted + "/" + ProbeCalls,19} {afterKill[i].Refused,7} {afterKill[i].Retried,5}{unanswered}");
        }

        return table.ToString();
    }

    private static string ConversationTable(
        List<HttpConversation> conversations, Dictionary<GrainId, List<string>> beforeKill, Dictionary<GrainId, List<string>> afterCrash,
        IGrainFactory grains, List<string>[] refusals, List<(string Role, string Text)>[] items)
    {
        var table = new StringBuilder();
        table.AppendLine(CultureInfo.InvariantCulture, $"{"conversation",-53} {"before kill",-12} {"after kill",-12} {"user turns",-22} {"items",5}  refused attempts");
        for (var i = 0; i < conversations.Count; i++)
        {
            var grain = ConversationGrain(grains, conversations[i].Id);
            var turns = string.Join(",", items[i].Where(item => item.Role == "user").Select(item => item.Text.Replace("turn ", "", StringComparison.Ordinal)));
            table.AppendLine(CultureInfo.InvariantCulture,
                $"{conversations[i].Id,-53} {Hosts(beforeKill[grain]),-12} {Hosts(afterCrash[grain]),-12} {turns,-22} {items[i].Count,5}  {string.Join("; ", refusals[i])}");
        }

        return table.ToString();
    }

    private static string Hosts(List<string> silos) => silos.Count == 0 ? "none" : string.Join("+", silos);

    private sealed record Tenant(string Id, string Secret, GrainId Quota);

    /// <summary>
    /// Writers that send their conversation's turns, alternating the API processes: half before the kill, the rest as
    /// soon as it is done, so they race the failover. Each turn is retried with its Idempotency-Key (honouring
    /// retry-after) until it is acknowledged; what was refused on the way is kept for the report.
    /// </summary>
    private sealed class TurnRace
    {
        private readonly TaskCompletionSource _killed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource[] _halfway;
        private readonly Task<List<string>>[] _writers;

        public TurnRace(HttpClient[] apis, IReadOnlyList<HttpConversation> conversations)
        {
            _halfway = [.. conversations.Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously))];
            _writers = [.. conversations.Select((conversation, index) => Task.Run(() => Write(apis, conversation, _halfway[index])))];
        }

        /// <summary>Every writer is halfway (or has already failed, which <see cref="Finished"/> reports).</summary>
        public Task Halfway => Task.WhenAll(_writers.Select((writer, index) => Task.WhenAny(_halfway[index].Task, writer)));

        public Task<List<string>[]> Finished => Task.WhenAll(_writers);

        public void SiloKilled() => _killed.SetResult();

        private async Task<List<string>> Write(HttpClient[] apis, HttpConversation conversation, TaskCompletionSource halfway)
        {
            var refusals = new List<string>();
            for (var turn = 0; turn < TurnsPerWriter; turn++)
            {
                if (turn == TurnsPerWriter / 2)
                {
                    halfway.SetResult();
                    await _killed.Task;
                }

                for (var attempt = 1; ; attempt++)
                {
                    Assert.True(attempt <= MaxAttempts, $"Turn {turn} of {conversation.Id} was never acknowledged: {string.Join("; ", refusals)}");
                    using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/responses")
                    {
                        Content = ChatCompletionsTests.Json($$"""{"model":"sim-small","conversation":"{{conversation.Id}}","input":"turn {{turn}}"}"""),
                    };
                    request.Headers.Authorization = new("Bearer", AdminKey);
                    request.Headers.Add("Idempotency-Key", $"{conversation.Id}-{turn}");
                    try
                    {
                        using var response = await apis[(turn + attempt) % apis.Length].SendAsync(request);
                        if (response.IsSuccessStatusCode)
                        {
                            break;
                        }

                        refusals.Add($"turn {turn}: {(int)response.StatusCode}");
                        await Task.Delay(RetryDelay(response));
                    }
                    catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
                    {
                        refusals.Add($"turn {turn}: {exception.GetType().Name}");
                    }
                }
            }

            return refusals;
        }
    }

    private sealed record Answer(HttpStatusCode Status, string Body, TimeSpan RetryAfter);

    /// <summary>A tenant's probe calls: admitted (200), refused (429), 503s retried, and calls never answered either way.</summary>
    private sealed record Probe(int Admitted, int Refused, int Retried, List<string> Unanswered);
}
