using System.Globalization;
using Conversations.Tenancy;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Tenancy;

/// <summary>Quotas through the real pipeline on a three-silo cluster, with many concurrent callers.</summary>
[Collection(ClusterCollection.Name)]
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class ClusterQuotaTests(ClusterFixture fixture)
{
    [Fact]
    public async Task A_requests_per_minute_limit_admits_exactly_K_across_three_silos()
    {
        const int limit = 25;
        var caller = NewCaller(new Limits(RequestsPerMinute: limit));

        Assert.Equal(3, fixture.Cluster.Silos.Count);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 120).Select(i => Call(caller, $"call {i}")));

        Assert.Equal(limit, outcomes.Count(o => o.Final is not null));
        Assert.All(outcomes.Where(o => o.Final is null), o =>
        {
            Assert.Equal(429, o.Error?.Status);
            Assert.Equal("rate_limit_exceeded", o.Error?.Code);
            Assert.True(o.Error?.RetryAfter > TimeSpan.Zero);
        });
    }

    [Fact]
    public async Task A_money_budget_is_never_exceeded_under_concurrency_and_usage_adds_up()
    {
        // Each call reserves its prompt plus 30 output tokens at sim-small prices; the budget fits a handful.
        const decimal budget = 0.00005m;
        var caller = NewCaller(new Limits(DailyCostUsd: budget));

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 60).Select(i => Call(caller, $"spend {i}", maxOutputTokens: 30)));
        var spent = outcomes.Where(o => o.Final is not null).Sum(o => o.Final!.CostUsd);

        Assert.Contains(outcomes, o => o.Final is not null);
        Assert.Contains(outcomes, o => o.Error?.Code == "insufficient_quota");
        Assert.True(spent <= budget, $"spent {spent} of {budget}");

        await fixture.Grains.GetGrain<ITenantQuotaGrain>(caller.Tenant).FlushUsage();
        var day = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var usage = await fixture.Grains.GetGrain<IUsageGrain>(GrainKeys.For(caller.Tenant, day)).Get();
        Assert.Equal(outcomes.Count(o => o.Final is not null), usage.Sum(r => r.Requests));
        Assert.Equal(spent, usage.Sum(r => r.CostUsd));
        Assert.Equal(outcomes.Where(o => o.Final is not null).Sum(o => o.Final!.Usage.OutputTokens), usage.Sum(r => r.OutputTokens));
    }

    [Fact]
    public async Task A_failed_upstream_call_frees_its_concurrency_slot()
    {
        var caller = NewCaller(new Limits(MaxConcurrentRequests: 1));

        var failed = await Call(caller, "[sim:status=500] fail", model: await FailingRoutes.Create(fixture.Grains, caller.Tenant));
        var next = await Call(caller, "works");

        Assert.Equal(502, failed.Error?.Status);
        Assert.NotNull(next.Final);
    }

    [Fact]
    public async Task A_model_outside_the_keys_scope_is_not_found()
    {
        var caller = NewCaller(Limits.None) with { AllowedModels = ["sim-large"] };

        var outcome = await Call(caller, "hi");

        Assert.Equal("model_not_found", outcome.Error?.Code);
    }

    private static Caller NewCaller(Limits tenantLimits) =>
        new("quota-" + Guid.NewGuid().ToString("N")[..10], "key_cluster", Role.Member, [], [], Limits.None, tenantLimits, Limits.None);

    private async Task<CompletionChunk> Call(Caller caller, string text, int? maxOutputTokens = null, string model = "sim-small")
    {
        var request = new CompletionRequest(model, [new NewItem(Roles.User, text)], MaxOutputTokens: maxOutputTokens, Caller: caller);
        CompletionChunk last = new DeltaChunk(string.Empty);
        await foreach (var chunk in fixture.Grains.GetGrain<IInferenceGrain>(InferenceLanes.Pick()).Complete(request))
        {
            last = chunk;
        }

        return last;
    }
}
