using Conversations.Grains.Quotas;
using Conversations.Tenancy;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Tenancy;

/// <summary>The admission rules, on a clock the test controls.</summary>
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class QuotaLedgerTests
{
    private readonly ManualClock _clock = new(new DateTimeOffset(2026, 11, 26, 10, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Requests_per_minute_is_a_sliding_window()
    {
        var ledger = new QuotaLedger(_clock);
        var caller = Caller(key: new Limits(RequestsPerMinute: 3));

        var admitted = Enumerable.Range(0, 3).Select(_ => Admit(ledger, caller)).ToList();
        _clock.Advance(TimeSpan.FromSeconds(30));
        var refused = Admit(ledger, caller);
        _clock.Advance(TimeSpan.FromSeconds(30));
        var afterWindow = Admit(ledger, caller);

        Assert.All(admitted, a => Assert.True(a.IsSuccess));
        Assert.Equal(429, refused.Error?.Status);
        Assert.Equal("rate_limit_exceeded", refused.Error?.Code);
        Assert.Equal(TimeSpan.FromSeconds(30), refused.Error?.RetryAfter);
        Assert.True(afterWindow.IsSuccess);
        Assert.Equal(new RateLimitStatus(3, 2, TimeSpan.FromSeconds(60)), afterWindow.Value!.Requests); // the first three left the window
    }

    [Fact]
    public void Tokens_per_minute_reserve_the_estimate_and_settle_to_the_actual()
    {
        var ledger = new QuotaLedger(_clock);
        var caller = Caller(tenant: new Limits(TokensPerMinute: 1_000));

        Assert.True(Admit(ledger, caller, "a", tokens: 800).IsSuccess);
        Assert.Equal(429, Admit(ledger, caller, "b", tokens: 300).Error?.Status);
        ledger.Settle("a", actualTokens: 100, actualCostUsd: 0);
        var afterSettle = Admit(ledger, caller, "c", tokens: 300);

        Assert.True(afterSettle.IsSuccess);
        Assert.Equal(600, afterSettle.Value!.Tokens!.Remaining);
        Assert.Equal("rate_limit_exceeded", Admit(ledger, caller, "d", tokens: 2_000).Error?.Code); // larger than the whole limit
    }

    [Fact]
    public void Concurrency_slots_are_freed_by_settlement_and_by_lease_expiry()
    {
        var ledger = new QuotaLedger(_clock);
        var caller = Caller(key: new Limits(MaxConcurrentRequests: 1));

        Assert.True(Admit(ledger, caller, "a").IsSuccess);
        Assert.Equal(429, Admit(ledger, caller, "b").Error?.Status);
        Assert.True(ledger.Settle("a", 10, 0));
        Assert.False(ledger.Settle("a", 10, 0)); // settling twice changes nothing
        Assert.True(Admit(ledger, caller, "c").IsSuccess);

        _clock.Advance(QuotaLedger.LeaseTimeout);
        Assert.Equal(1, ledger.ExpireLeases());
        Assert.Equal(0, ledger.InFlight("key:" + caller.KeyId));
    }

    [Fact]
    public void Daily_token_budget_counts_reservations_and_resets_the_next_day()
    {
        var ledger = new QuotaLedger(_clock);
        var caller = Caller(tenant: new Limits(DailyTokens: 1_000));

        Assert.True(Admit(ledger, caller, "a", tokens: 600).IsSuccess);
        var refused = Admit(ledger, caller, "b", tokens: 600); // would pass on spend alone, not with a's reservation
        ledger.Settle("a", 600, 0);
        _clock.Advance(TimeSpan.FromDays(1));

        Assert.Equal("insufficient_quota", refused.Error?.Code);
        Assert.Equal(TimeSpan.FromHours(14), refused.Error?.RetryAfter);
        Assert.True(Admit(ledger, caller, "c", tokens: 900).IsSuccess);
    }

    [Fact]
    public void Money_budget_is_not_exceeded_while_calls_are_in_flight()
    {
        var ledger = new QuotaLedger(_clock);
        var caller = Caller(key: new Limits(MonthlyCostUsd: 1.00m));

        var admitted = Enumerable.Range(0, 10).Count(i => Admit(ledger, caller, $"l{i}", cost: 0.30m).IsSuccess);

        Assert.Equal(3, admitted);
    }

    [Fact]
    public void End_users_have_their_own_windows_under_the_tenant_user_limit()
    {
        var ledger = new QuotaLedger(_clock);
        var caller = Caller(user: new Limits(RequestsPerMinute: 1));

        Assert.True(Admit(ledger, caller, "a", user: "alice").IsSuccess);
        Assert.True(Admit(ledger, caller, "b", user: "bob").IsSuccess);
        Assert.Equal(429, Admit(ledger, caller, "c", user: "alice").Error?.Status);
    }

    [Fact]
    public void End_user_scopes_are_forgotten_once_idle_with_no_use_this_month()
    {
        var ledger = new QuotaLedger(_clock);
        var caller = Caller(user: new Limits(RequestsPerMinute: 5));
        Admit(ledger, caller, "a", user: "carol");
        ledger.Settle("a", 10, 0);
        var withUser = ledger.ScopeCount;

        _clock.Advance(TimeSpan.FromMinutes(2));
        ledger.ExpireLeases();
        var sameMonth = ledger.ScopeCount;
        _clock.Advance(TimeSpan.FromDays(31));
        ledger.ExpireLeases();

        Assert.Equal(withUser, sameMonth); // carol used tokens this month: her budget use is kept
        Assert.Equal(withUser - 1, ledger.ScopeCount);
        Assert.True(Admit(ledger, caller, "b", user: "carol").IsSuccess);
    }

    [Fact]
    public void A_restored_ledger_goes_on_with_the_budgets_windows_and_calls_in_flight_of_its_snapshot()
    {
        var ledger = new QuotaLedger(_clock);
        var caller = Caller(key: new Limits(RequestsPerMinute: 5, TokensPerMinute: 1_000, MaxConcurrentRequests: 3), tenant: new Limits(DailyTokens: 10_000));
        Admit(ledger, caller, "a", tokens: 900);
        ledger.Settle("a", 900, 0);
        Admit(ledger, caller, "b", tokens: 10);
        Admit(ledger, caller, "c", tokens: 10);
        _clock.Advance(TimeSpan.FromSeconds(20));

        var restored = new QuotaLedger(_clock);
        restored.Restore(ledger.Snapshot());

        Assert.Equal(2, restored.InFlight("key:key_test"));
        Assert.Equal("rate_limit_exceeded", Admit(restored, caller, tokens: 200).Error?.Code); // 920 of 1,000 tokens in the minute
        Assert.True(Admit(restored, caller, "d", tokens: 10).IsSuccess);
        Assert.Equal(429, Admit(restored, caller, "e", tokens: 10).Error?.Status); // b, c and d in flight: 3 of 3
        restored.Settle("b", 10, 0);
        Assert.True(Admit(restored, caller, "f", tokens: 10).IsSuccess); // the restored lease b freed its slot
        Assert.Equal(429, Admit(restored, caller, tokens: 10).Error?.Status); // c, d and f in flight; a to f, 5 requests in the minute
        _clock.Advance(TimeSpan.FromSeconds(41));
        restored.Settle("c", 10, 0);
        Assert.True(Admit(restored, caller, "g", tokens: 10).IsSuccess); // a, b and c left the window (stamped at their second's end)
    }

    [Fact]
    public void After_a_crash_what_the_dead_activation_may_have_admitted_unrecorded_counts_as_used_in_every_scope()
    {
        var ledger = new QuotaLedger(_clock);
        var caller = Caller(key: new Limits(RequestsPerMinute: 5), tenant: new Limits(DailyCostUsd: 1m));
        Admit(ledger, caller, "a");
        Admit(ledger, caller, "b");
        var unrecorded = new QuotaUse(3, 30, 0.5m);

        var restored = new QuotaLedger(_clock);
        restored.Restore(ledger.Snapshot(), unrecorded);
        var otherKey = Caller(key: new Limits(RequestsPerMinute: 3)) with { KeyId = "key_other" };

        Assert.Equal(429, Admit(restored, caller).Error?.Status); // 2 recorded + 3 unrecorded of 5
        Assert.Equal(429, Admit(restored, otherKey).Error?.Status); // a key first seen now may have made them
        Assert.Equal("insufficient_quota", Admit(restored, Caller(tenant: new Limits(DailyCostUsd: 1m)), cost: 0.6m).Error?.Code);
        _clock.Advance(TimeSpan.FromMinutes(1));
        Assert.True(Admit(restored, caller).IsSuccess);
        Assert.True(Admit(Restored(ledger), otherKey).IsSuccess); // after a clean handover nothing is counted twice
    }

    private QuotaLedger Restored(QuotaLedger ledger)
    {
        var restored = new QuotaLedger(_clock);
        restored.Restore(ledger.Snapshot());
        return restored;
    }

    [Fact]
    public void New_end_users_are_refused_past_the_day_s_cap_until_the_next_UTC_day()
    {
        var ledger = new QuotaLedger(_clock);
        var caller = Caller(key: new Limits(MaxConcurrentRequests: 1)) with { TenantStorageLimits = StorageLimits.Default with { EndUsersPerDay = 3 } };
        ledger.SeenEndUsers(DateOnly.FromDateTime(_clock.GetUtcNow().UtcDateTime), ["alice", string.Empty]); // from the day's usage record

        var bob = Admit(ledger, caller, "bob", user: "bob");
        var dave = Admit(ledger, caller, "dave", user: "dave"); // refused for another reason: not counted
        ledger.Settle("bob", 10, 0);
        var carol = Admit(ledger, caller, "carol", user: "carol");
        ledger.Settle("carol", 10, 0);
        var erin = Admit(ledger, caller, "erin", user: "erin");
        var anonymous = Admit(ledger, caller, "anonymous");
        ledger.Settle("anonymous", 10, 0);
        var aliceAgain = Admit(ledger, caller, "alice", user: "alice");
        ledger.Settle("alice", 10, 0);
        _clock.Advance(TimeSpan.FromHours(14)); // midnight UTC
        var erinTomorrow = Admit(ledger, caller, "erin-tomorrow", user: "erin");

        Assert.True(bob.IsSuccess);
        Assert.Equal("rate_limit_exceeded", dave.Error?.Code);
        Assert.True(carol.IsSuccess);
        Assert.Equal("end_user_limit_reached", erin.Error?.Code);
        Assert.Equal((429, "user"), (erin.Error!.Status, erin.Error.Param));
        Assert.Equal(TimeSpan.FromHours(14), erin.Error.RetryAfter);
        Assert.True(anonymous.IsSuccess); // no end user: nothing to count
        Assert.True(aliceAgain.IsSuccess);
        Assert.True(erinTomorrow.IsSuccess);
        Assert.Equal(1, ledger.EndUsersToday);
    }

    [Fact]
    public void A_caller_needs_admission_for_an_end_user_only_while_the_day_s_cap_on_them_is_finite()
    {
        var unlimited = Caller();

        Assert.False(unlimited.NeedsAdmission(null));
        Assert.True(unlimited.NeedsAdmission("alice"));
        Assert.False((unlimited with { TenantStorageLimits = StorageLimits.None }).NeedsAdmission("alice"));
        Assert.True(Caller(key: new Limits(RequestsPerMinute: 1)).NeedsAdmission(null));
    }

    private static Result<Admission> Admit(QuotaLedger ledger, Caller caller, string? lease = null, int tokens = 10, decimal cost = 0, string? user = null) =>
        ledger.Admit(new AdmissionRequest(lease ?? Guid.NewGuid().ToString("N"), caller, user, tokens, cost));

    private static Caller Caller(Limits? key = null, Limits? tenant = null, Limits? user = null) =>
        new("acme", "key_test", Role.Member, [], [], key ?? Limits.None, tenant ?? Limits.None, user ?? Limits.None);
}
