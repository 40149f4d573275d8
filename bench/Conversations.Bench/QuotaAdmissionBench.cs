using Conversations.Routing;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Conversations.Grains;
using Conversations.Providers;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Conversations.Tenancy;
using Orleans.TestingHost;

namespace Conversations.Bench;

/// <summary>
/// The admission and routing path for one hot tenant: how many calls per second one tenant's quota
/// grain admits and its route grain plans, what the gateway's path (lane, route plan, router) adds to
/// a direct provider call, and what quotas add to a model call; each a ratio against a baseline
/// measured in the same run.
/// </summary>
public static class QuotaAdmissionBench
{
    public static async Task<IReadOnlyList<Measurement.Result>> Run(int concurrency, TimeSpan duration)
    {
        await using var cluster = await BenchServers.StartSilo();
        var grains = cluster.Client;

        // Generous limits: every call is admitted, but every limit is checked and every window updated.
        var limits = new Limits(RequestsPerMinute: int.MaxValue, TokensPerMinute: int.MaxValue, MaxConcurrentRequests: 100_000,
            DailyTokens: long.MaxValue / 4, MonthlyTokens: long.MaxValue / 4, DailyCostUsd: 1_000_000m, MonthlyCostUsd: 1_000_000m);
        var caller = new Caller("hot-tenant", "key_bench", Role.Member, [], [], limits, limits, Limits.None);
        var quota = grains.GetGrain<ITenantQuotaGrain>(caller.Tenant);
        var messages = new List<NewItem> { new(Roles.User, "How many tokens does this short question take?") };
        var route = grains.GetGrain<IModelRouteGrain>(GrainKeys.For(caller.Tenant, "sim-small"));
        var provider = cluster.Silos.OfType<InProcessSiloHandle>().Single().ServiceProvider.GetRequiredService<ProviderClients>()
            .For(RoutingOptions.EmbeddedRoutes()["sim-small"].Deployments[0]);
        var chat = messages.Select(m => new ChatMessage(ChatRole.User, m.Text)).ToList();

        var results = new List<Measurement.Result>
        {
            await Measurement.Run("grain round trip (baseline)", concurrency, duration,
                () => grains.GetGrain<ITenantRoutesGrain>(caller.Tenant).ListModels()),
            await Measurement.Run("admit + settle, one tenant", concurrency, duration, async () =>
            {
                var lease = Guid.NewGuid().ToString("N");
                await quota.Admit(new AdmissionRequest(lease, caller, null, 100, 0.0001m));
                await quota.Settle(lease, caller, null, "sim-small", new TokenUsage(60, 40), 0.0001m);
            }),
            await Measurement.Run("grain round trip (baseline)", concurrency, duration,
                () => grains.GetGrain<ITenantRoutesGrain>(caller.Tenant).ListModels()),
            await Measurement.Run("route plan, one alias", concurrency, duration,
                () => route.Plan(new PlanRequest("user", 0, 64, Streaming: false))),
            await Measurement.Run("provider called directly (no gateway)", concurrency, duration,
                () => provider.GetResponseAsync(chat, new ChatOptions { MaxOutputTokens = 64 })),
            await Measurement.Run("model call through the gateway path, no quotas", concurrency, duration,
                () => Drain(grains, new CompletionRequest("sim-small", messages, MaxOutputTokens: 64))),
            await Measurement.Run("model call, no quotas", concurrency, duration,
                () => Drain(grains, new CompletionRequest("sim-small", messages, MaxOutputTokens: 64))),
            await Measurement.Run("model call, quotas on (one hot tenant)", concurrency, duration,
                () => Drain(grains, new CompletionRequest("sim-small", messages, MaxOutputTokens: 64, Caller: caller))),
        };
        return results;
    }

    public static string Report(IReadOnlyList<Measurement.Result> results)
    {
        var markdown = new StringBuilder();
        markdown.AppendLine(CultureInfo.InvariantCulture, $"# Quota admission path ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores)");
        markdown.AppendLine();
        markdown.AppendLine("| scenario | callers | ops/s | p50 ms | p99 ms | ratio |");
        markdown.AppendLine("|---|---:|---:|---:|---:|---:|");
        for (var i = 0; i < results.Count; i++)
        {
            var r = results[i];
            var baseline = i % 2 == 0 ? r : results[i - 1];
            markdown.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Scenario} | {r.Concurrency} | {r.OpsPerSecond:N0} | {r.P50Ms:0.00} | {r.P99Ms:0.00} | {r.OpsPerSecond / baseline.OpsPerSecond:0.00} |");
        }

        markdown.AppendLine();
        markdown.AppendLine("Ratios (throughput, each row against the row above it): admit + settle and a route plan against a plain grain round trip;");
        markdown.AppendLine("the gateway path (inference lane, route plan, Polly router) against calling the same simulated provider directly;");
        markdown.AppendLine("a model call with quotas against the same call without.");
        return markdown.ToString();
    }

    public static string Json(IReadOnlyList<Measurement.Result> results) => JsonSerializer.Serialize(results, JsonOutput.Options);

    private static async Task Drain(IGrainFactory grains, CompletionRequest request)
    {
        await foreach (var chunk in grains.GetGrain<IInferenceGrain>(InferenceLanes.Pick()).Complete(request))
        {
            if (chunk is ErrorChunk { Error: var error })
            {
                throw new InvalidOperationException(error.Message);
            }
        }
    }
}
