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
/// Issue 24, "Exact through a crash", with real processes: Azurite, three silos and two API processes. Tenants fill
/// their minute's request limit through both APIs, then one silo is killed by PID (SIGKILL) and, still within that
/// minute, every tenant is probed again through both APIs: a limit that holds exactly across the cluster admits none
/// of those calls, whichever silo held the tenant's quota grain. Meanwhile conversation turns race the failover with
/// Idempotency-Keys, and each acknowledged turn ends up written exactly once, in order.
/// </summary>
public sealed class QuotaCrashDrill
{
    private const string AdminKey = "sk-quota-drill";
    private const int Tenants = 6;
    private const int Limit = 10;
    private const int FillCalls = Limit + 2;
    private const int ProbeCalls = Limit;
    private const int Writers = 4;
    private const int TurnsPerWriter = 6;
    private const int MaxAttempts = 30;

    /// <summary>All probes must end this soon after the fill began, or the first admissions may have left their window.</summary>
    private static readonly TimeSpan SameMinute = TimeSpan.FromSeconds(50);

    [Fact]
    public Task Killing_a_silo_gives_no_tenant_a_call_more_in_the_minute_it_filled_and_writes_no_turn_twice() =>
        Run(victimJoinsAfterFill: false);

    [Fact]
    public Task Killing_a_silo_that_joined_after_the_fill_gives_no_tenant_a_call_more_in_that_minute_and_writes_no_turn_twice() =>
        Run(victimJoinsAfterFill: true);

    private static async Task Run(bool victimJoinsAfterFill)
    {
        var log = TestContext.Current.TestOutputHelper;
        var total = Stopwatch.StartNew();
        await using var cluster = await ProcessCluster.StartAsync("quota-drill", AdminKey);
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
        log?.WriteLine($"{silos.Count} silos and 2 APIs up, tenants and conversations created in {total.Elapsed.TotalSeconds:F1} s.");

        var sinceFill = Stopwatch.StartNew();
        var filled = await Task.WhenAll(tenants.Select(tenant => Fill(apis, tenant)));
        var atFill = await cluster.Activations(tenants.Select(t => t.Quota));
        log?.WriteLine($"Filled {Tenants} tenants ({FillCalls} calls each, limit {Limit}/min) in {sinceFill.Elapsed.TotalSeconds:F1} s.");

        ProcessCluster.Silo victim;
        Probe[]? afterJoin = null;
        if (victimJoinsAfterFill)
        {
            victim = await cluster.StartSiloAsync("silo3");
            await Eventually.Get(async () => (await cluster.ActiveSilos()).Contains(victim.Name) ? victim : null, TimeSpan.FromSeconds(30));
            log?.WriteLine($"{victim.Name} joined {sinceFill.Elapsed.TotalSeconds:F1} s after the fill began.");
            conversations = await OpenConversations(apis); // placed on a cluster that includes the newcomer
            afterJoin = await Task.WhenAll(tenants.Select(tenant => ProbeTenant(apis, tenant, calls: 2)));
        }
        else
        {
            victim = silos.MaxBy(silo => atFill.Values.Count(hosts => hosts.Contains(silo.Name)))!;
        }

        var beforeKill = await cluster.Activations(tenants.Select(t => t.Quota));
        var conversationHosts = await cluster.Activations(conversations.Select(c => ConversationGrain(grains, c.Id)));
        var halfway = conversations.Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var writers = conversations.Select((conversation, index) => Task.Run(() => Write(apis, conversation, halfway[index], killed.Task))).ToList();

        await Task.WhenAll(halfway.Select(h => h.Task));
        await victim.Process.KillAsync();
        var sinceKill = Stopwatch.StartNew();
        killed.SetResult();
        await cluster.WaitUntilServingWithout(victim, apiProcesses, TimeSpan.FromSeconds(45));
        var servingAfter = sinceKill.Elapsed;

        var afterKill = await Task.WhenAll(tenants.Select(tenant => ProbeTenant(apis, tenant, ProbeCalls)));
        var probedBy = sinceFill.Elapsed;
        var afterCrash = await cluster.Activations(tenants.Select(t => t.Quota));
        var written = await Task.WhenAll(writers);
        var items = await Task.WhenAll(conversations.Select(c => c.ItemsAsync()));

        log?.WriteLine($"Killed {victim.Name} (pid {victim.Process.Id}); the cluster served again {servingAfter.TotalSeconds:F1} s later; "
            + $"the probes ended {probedBy.TotalSeconds:F1} s after the fill began; whole drill {total.Elapsed.TotalSeconds:F1} s.");
        log?.WriteLine(QuotaTable(tenants, atFill, beforeKill, afterCrash, filled, afterJoin, afterKill));
        log?.WriteLine(ConversationTable(conversations, conversationHosts, grains, written, items));

        Assert.Multiple(
            () => Assert.True(probedBy < SameMinute,
                $"The probes ended {probedBy.TotalSeconds:F1} s after the fill began: this machine is too slow to probe within the same minute, so admissions after the kill prove nothing."),
            () => Assert.All(conversations.Select((c, i) => (c.Id, Items: items[i])), conversation =>
            {
                var inputs = conversation.Items.Where(i => i.Role == "user").Select(i => i.Text).Where(t => t.StartsWith("turn ", StringComparison.Ordinal)).ToList();
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

    /// <summary>Sends more calls than the limit, alternating the API processes: exactly the limit is admitted.</summary>
    private static async Task<int> Fill(HttpClient[] apis, Tenant tenant)
    {
        var statuses = new List<HttpStatusCode>();
        for (var call = 0; call < FillCalls; call++)
        {
            statuses.Add((await Chat(apis[call % apis.Length], tenant.Secret, $"fill {call}")).Status);
        }

        var admitted = statuses.Count(s => s == HttpStatusCode.OK);
        Assert.True(admitted == Limit && statuses.Count(s => s == HttpStatusCode.TooManyRequests) == FillCalls - Limit,
            $"Filling {tenant.Id}: {string.Join(", ", statuses.Select(s => (int)s))}");
        return admitted;
    }

    /// <summary>
    /// Sends calls alternating the API processes; a 503 (the cluster still failing over) is retried until the call is
    /// answered, so every probe ends as an admission (200) or a refusal (429).
    /// </summary>
    private static async Task<Probe> ProbeTenant(HttpClient[] apis, Tenant tenant, int calls)
    {
        var probe = new Probe();
        for (var call = 0; call < calls; call++)
        {
            for (var attempt = 1; ; attempt++)
            {
                var answer = await Chat(apis[call % apis.Length], tenant.Secret, $"probe {call}");
                if (answer.Status == HttpStatusCode.ServiceUnavailable && attempt < MaxAttempts)
                {
                    probe.Retried++;
                    await Task.Delay(answer.RetryAfter);
                    continue;
                }

                switch (answer.Status)
                {
                    case HttpStatusCode.OK:
                        probe.Admitted++;
                        break;
                    case HttpStatusCode.TooManyRequests:
                        probe.Refused++;
                        break;
                    default:
                        probe.Unanswered.Add($"{(int)answer.Status}: {answer.Body}");
                        break;
                }

                break;
            }
        }

        return probe;
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

    private static GrainId ConversationGrain(IGrainFactory grains, string conversationId) =>
        grains.GetGrain<IConversationGrain>(GrainKeys.For("default", conversationId)).GetGrainId();

    /// <summary>
    /// Sends the conversation's turns, alternating the API processes: half before the kill, half as soon as it is
    /// done, each retried with its Idempotency-Key (honouring retry-after) until it is acknowledged.
    /// </summary>
    private static async Task<List<string>> Write(HttpClient[] apis, HttpConversation conversation, TaskCompletionSource halfway, Task killed)
    {
        var refusals = new List<string>();
        for (var turn = 0; turn < TurnsPerWriter; turn++)
        {
            if (turn == TurnsPerWriter / 2)
            {
                halfway.SetResult();
                await killed;
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
        List<HttpConversation> conversations, Dictionary<GrainId, List<string>> hosts, IGrainFactory grains, List<string>[] refusals, List<(string Role, string Text)>[] items)
    {
        var table = new StringBuilder();
        table.AppendLine(CultureInfo.InvariantCulture, $"{"conversation",-40} {"silo",-8} {"user turns",-28} {"items",5}  refused attempts");
        for (var i = 0; i < conversations.Count; i++)
        {
            var turns = string.Join(",", items[i].Where(item => item.Role == "user").Select(item => item.Text.Replace("turn ", "", StringComparison.Ordinal)));
            table.AppendLine(CultureInfo.InvariantCulture,
                $"{conversations[i].Id,-40} {Hosts(hosts[ConversationGrain(grains, conversations[i].Id)]),-8} {turns,-28} {items[i].Count,5}  {string.Join("; ", refusals[i])}");
        }

        return table.ToString();
    }

    private static string Hosts(List<string> silos) => silos.Count == 0 ? "none" : string.Join("+", silos);

    private sealed record Tenant(string Id, string Secret, GrainId Quota);

    private sealed record Answer(HttpStatusCode Status, string Body, TimeSpan RetryAfter);

    private sealed class Probe
    {
        public int Admitted { get; set; }

        public int Refused { get; set; }

        public int Retried { get; set; }

        public List<string> Unanswered { get; } = [];
    }
}
