using System.Globalization;
using Conversations.Tenancy;

namespace Conversations.Grains.Quotas;

/// <summary>
/// Admission control for one tenant. A call is checked against every scope it belongs to (tenant,
/// key, end user) and admitted only if all allow it; admission reserves its estimated tokens and cost
/// in every scope at once, and settlement replaces the reservation with the actual usage. Owned by
/// one grain activation, so it needs no locks and is exact.
/// </summary>
public sealed class QuotaLedger(TimeProvider clock)
{
    /// <summary>A lease not settled in this time (the caller died) is settled with its reservation.</summary>
    public static readonly TimeSpan LeaseTimeout = TimeSpan.FromMinutes(15);

    private static readonly TimeSpan ConcurrencyRetry = TimeSpan.FromSeconds(1);

    private readonly Dictionary<string, QuotaScope> _scopes = new(StringComparer.Ordinal);
    private const int RememberedSettlements = 100_000;

    private readonly Dictionary<string, Lease> _leases = new(StringComparer.Ordinal);
    private readonly HashSet<string> _settled = new(StringComparer.Ordinal);
    private readonly Queue<string> _settledOrder = new();
    private readonly DailyEndUsers _endUsers = new();

    /// <summary>What calls a crashed activation may have admitted unrecorded, and until when a scope first seen now counts them.</summary>
    private (QuotaUse Use, DateTimeOffset Until)? _unrecorded;

    /// <summary>Everything a new activation needs to go on exactly: windows, calls in flight, budget use.</summary>
    public QuotaState Snapshot() => Snapshot(clock.GetUtcNow());

    private QuotaState Snapshot(DateTimeOffset now) => new()
    {
        Budgets = _scopes.ToDictionary(pair => pair.Key, pair => pair.Value.Budget, StringComparer.Ordinal),
        Windows = _scopes.Where(pair => pair.Value.RequestsInWindow > 0 || pair.Value.TokensInWindow > 0)
            .ToDictionary(pair => pair.Key, pair => pair.Value.SnapshotWindow(now), StringComparer.Ordinal),
        Leases = [.. _leases.Values.Select(lease => new StoredLease(lease.Id, lease.ExpiresAt, lease.Tokens, lease.CostUsd, [.. lease.Entries.Select(e => e.Scope.Name)]))],
    };

    /// <summary>
    /// Goes on from <paramref name="state"/>. After a crash (<paramref name="unrecorded"/>: what the crashed activation may have
    /// admitted after the snapshot), those calls count as made now in every scope, and in any scope first seen within the
    /// next minute: a restored ledger may refuse what it could have admitted, never the other way round.
    /// </summary>
    public void Restore(QuotaState state, QuotaUse? unrecorded = null)
    {
        var now = clock.GetUtcNow();
        foreach (var (name, budget) in state.Budgets)
        {
            Scope(name).Budget = budget;
        }

        foreach (var (name, buckets) in state.Windows)
        {
            Scope(name).RestoreWindow(buckets);
        }

        foreach (var stored in state.Leases)
        {
            var lease = new Lease(stored.Id, stored.ExpiresAt, stored.Tokens, stored.CostUsd);
            foreach (var scope in stored.Scopes.Select(Scope))
            {
                scope.InFlight++;
                scope.ReservedTokens += stored.Tokens;
                scope.ReservedCostUsd += stored.CostUsd;
                lease.Entries.Add((scope, null));
            }

            _leases[lease.Id] = lease;
        }

        if (unrecorded is { Requests: > 0 } use)
        {
            foreach (var scope in _scopes.Values.Append(Scope("tenant")).Distinct())
            {
                CountUnrecorded(scope, use, now);
            }

            _unrecorded = (use, now + QuotaScope.Window);
        }
    }

    private static void CountUnrecorded(QuotaScope scope, QuotaUse use, DateTimeOffset now)
    {
        scope.Add(use.Requests, use.Tokens, now);
        scope.Budget = scope.Budget.RollOver(now).Add(use.Tokens, use.CostUsd);
    }

    public int InFlight(string scope) => _scopes.TryGetValue(scope, out var counters) ? counters.InFlight : 0;

    /// <summary>Distinct end users admitted today (while the tenant's cap on them is finite).</summary>
    public int EndUsersToday => _endUsers.Count;

    /// <summary>Counts end users that used the tenant on <paramref name="day"/> (from its usage record), if that is today.</summary>
    public void SeenEndUsers(DateOnly day, IEnumerable<string> users) => _endUsers.Seen(day, users, clock.GetUtcNow());

    public Result<Admission> Admit(AdmissionRequest request)
    {
        if (_leases.ContainsKey(request.LeaseId))
        {
            return GatewayError.Conflict($"Lease '{request.LeaseId}' was already admitted.");
        }

        var now = clock.GetUtcNow();
        var scopes = ScopesOf(request);
        foreach (var (scope, _) in scopes)
        {
            scope.Expire(now);
        }

        foreach (var (scope, limits) in scopes)
        {
            if (Refusal(scope, limits, request, now) is { } refusal)
            {
                return refusal;
            }
        }

        // Last, as it counts a new end user: only a call admitted by every other check may.
        var storage = request.Caller.Storage;
        if (request.EndUser is { Length: > 0 } user && storage.EndUsersPerDay is { } endUsers && !_endUsers.Admit(user, endUsers, now))
        {
            return storage.EndUsersReached(BudgetUse.UntilNextDay(now));
        }

        var lease = new Lease(request.LeaseId, now + LeaseTimeout, request.EstimatedTokens, request.EstimatedCostUsd);
        foreach (var (scope, limits) in scopes)
        {
            // Windows are logged only where a limit reads them, so an unlimited hot tenant costs no memory per call.
            scope.InFlight++;
            scope.ReservedTokens += request.EstimatedTokens;
            scope.ReservedCostUsd += request.EstimatedCostUsd;
            if (limits.RequestsPerMinute is not null)
            {
                scope.AddRequest(now);
            }

            lease.Entries.Add((scope, limits.TokensPerMinute is null ? null : scope.AddTokens(now, request.EstimatedTokens)));
        }

        _leases[request.LeaseId] = lease;
        return new Admission(
            Tightest(scopes, l => l.RequestsPerMinute, s => s.RequestsInWindow, s => s.UntilRequestsReset(now)),
            Tightest(scopes, l => l.TokensPerMinute, s => s.TokensInWindow, s => s.UntilTokensReset(now)));
    }

    /// <summary>
    /// Replaces the lease's reservation with actual usage and frees its slot. Returns false for a lease
    /// settled before (a duplicate), true otherwise, including for a lease this ledger never saw (it was
    /// admitted by an earlier activation): its usage still counts against the budgets.
    /// </summary>
    public bool Settle(string leaseId, long actualTokens, decimal actualCostUsd, AdmissionRequest? unknownLeaseScopes = null)
    {
        if (!_settled.Add(leaseId))
        {
            return false;
        }

        _settledOrder.Enqueue(leaseId);
        while (_settledOrder.Count > RememberedSettlements)
        {
            _settled.Remove(_settledOrder.Dequeue());
        }

        if (!_leases.Remove(leaseId, out var lease))
        {
            if (unknownLeaseScopes is not null)
            {
                foreach (var (scope, _) in ScopesOf(unknownLeaseScopes))
                {
                    scope.Budget = scope.Budget.RollOver(clock.GetUtcNow()).Add(actualTokens, actualCostUsd);
                }
            }

            return true;
        }

        var now = clock.GetUtcNow();
        foreach (var (scope, entry) in lease.Entries)
        {
            scope.Expire(now);
            scope.InFlight--;
            scope.ReservedTokens -= lease.Tokens;
            scope.ReservedCostUsd -= lease.CostUsd;
            if (entry is not null)
            {
                scope.Correct(entry, actualTokens);
            }

            scope.Budget = scope.Budget.Add(actualTokens, actualCostUsd);
        }

        return true;
    }

    public int ScopeCount => _scopes.Count;

    /// <summary>Settles leases whose callers never came back, charging what they reserved.</summary>
    public int ExpireLeases()
    {
        var now = clock.GetUtcNow();
        var expired = _leases.Values.Where(lease => lease.ExpiresAt <= now).ToList();
        foreach (var lease in expired)
        {
            Settle(lease.Id, lease.Tokens, lease.CostUsd);
        }

        ForgetIdleEndUsers(now);
        return expired.Count;
    }

    /// <summary>
    /// End users are any string a caller sends, so their scopes are dropped once nothing is in flight,
    /// their windows are empty and they have used nothing this month: memory and stored state grow with
    /// this month's active users, not with every name ever seen.
    /// </summary>
    private void ForgetIdleEndUsers(DateTimeOffset now)
    {
        foreach (var (name, scope) in _scopes.Where(pair => pair.Key.StartsWith("user:", StringComparison.Ordinal)).ToList())
        {
            scope.Expire(now);
            if (scope.InFlight == 0 && scope.RequestsInWindow == 0 && scope.TokensInWindow == 0
                && scope.Budget is { MonthTokens: 0, MonthCostUsd: 0 })
            {
                _scopes.Remove(name);
            }
        }
    }

    private List<(QuotaScope Scope, Limits Limits)> ScopesOf(AdmissionRequest request)
    {
        var caller = request.Caller;
        var scopes = new List<(QuotaScope, Limits)>(3)
        {
            (Scope("tenant"), caller.TenantLimits),
            (Scope("key:" + caller.KeyId), caller.KeyLimits),
        };
        if (request.EndUser is { Length: > 0 } user && !caller.UserLimits.IsUnlimited)
        {
            scopes.Add((Scope("user:" + user), caller.UserLimits));
        }

        return scopes;
    }

    private QuotaScope Scope(string name)
    {
        if (!_scopes.TryGetValue(name, out var scope))
        {
            _scopes[name] = scope = new QuotaScope(name);
            var now = clock.GetUtcNow();
            if (_unrecorded is { } unrecorded && now < unrecorded.Until)
            {
                CountUnrecorded(scope, unrecorded.Use, now); // a scope the crashed activation may have admitted calls in, unrecorded
            }
        }

        return scope;
    }

    private static GatewayError? Refusal(QuotaScope scope, Limits limits, AdmissionRequest request, DateTimeOffset now)
    {
        var tokens = request.EstimatedTokens;
        var cost = request.EstimatedCostUsd;
        if (limits.MaxConcurrentRequests is { } concurrent && scope.InFlight + 1 > concurrent)
        {
            return RateLimited(scope, "concurrent requests", concurrent, scope.InFlight, 1, ConcurrencyRetry);
        }

        if (limits.RequestsPerMinute is { } rpm && scope.RequestsInWindow + 1 > rpm)
        {
            return RateLimited(scope, "requests per minute", rpm, scope.RequestsInWindow, 1, scope.UntilRequestFrees(now));
        }

        if (limits.TokensPerMinute is { } tpm && scope.TokensInWindow + tokens > tpm)
        {
            return tokens > tpm
                ? new GatewayError(429, "tokens", "rate_limit_exceeded",
                    $"Request too large for {scope.Name}: it needs {tokens} tokens and the limit is {tpm} tokens per minute. Send a shorter input or a smaller max_output_tokens.")
                : RateLimited(scope, "tokens per minute", tpm, scope.TokensInWindow, tokens, scope.UntilTokensFree(tokens, tpm, now));
        }

        var budget = scope.Budget;
        return OverBudget(scope, "daily token budget", limits.DailyTokens, budget.DayTokens + scope.ReservedTokens + tokens, BudgetUse.UntilNextDay(now))
            ?? OverBudget(scope, "monthly token budget", limits.MonthlyTokens, budget.MonthTokens + scope.ReservedTokens + tokens, BudgetUse.UntilNextMonth(now))
            ?? OverBudget(scope, "daily cost budget (USD)", limits.DailyCostUsd, budget.DayCostUsd + scope.ReservedCostUsd + cost, BudgetUse.UntilNextDay(now))
            ?? OverBudget(scope, "monthly cost budget (USD)", limits.MonthlyCostUsd, budget.MonthCostUsd + scope.ReservedCostUsd + cost, BudgetUse.UntilNextMonth(now));
    }

    private static GatewayError RateLimited(QuotaScope scope, string what, long limit, long used, long requested, TimeSpan retryAfter)
    {
        var wait = retryAfter < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : retryAfter;
        return new GatewayError(429, what.StartsWith("tokens", StringComparison.Ordinal) ? "tokens" : "requests", "rate_limit_exceeded",
            string.Create(CultureInfo.InvariantCulture,
                $"Rate limit reached for {what} on {scope.Name}: limit {limit}, used {used}, requested {requested}. Please try again in {wait.TotalSeconds:0.###}s."),
            RetryAfter: wait);
    }

    private static GatewayError? OverBudget<T>(QuotaScope scope, string what, T? limit, T wouldUse, TimeSpan untilReset) where T : struct, IComparable<T> =>
        limit is { } max && wouldUse.CompareTo(max) > 0
            ? new GatewayError(429, "insufficient_quota", "insufficient_quota",
                $"You exceeded the {what} of {scope.Name}: limit {max}. It resets in {untilReset.TotalHours:0.#} hours.", RetryAfter: untilReset)
            : null;

    private static RateLimitStatus? Tightest(
        List<(QuotaScope Scope, Limits Limits)> scopes, Func<Limits, long?> limitOf, Func<QuotaScope, long> used, Func<QuotaScope, TimeSpan> resetAfter)
    {
        RateLimitStatus? tightest = null;
        foreach (var (scope, limits) in scopes)
        {
            if (limitOf(limits) is { } limit)
            {
                var status = new RateLimitStatus(limit, Math.Max(0, limit - used(scope)), resetAfter(scope));
                if (tightest is null || status.Remaining < tightest.Remaining)
                {
                    tightest = status;
                }
            }
        }

        return tightest;
    }

    private sealed record Lease(string Id, DateTimeOffset ExpiresAt, long Tokens, decimal CostUsd)
    {
        public List<(QuotaScope Scope, QuotaScope.TokenEntry? Entry)> Entries { get; } = new(3);
    }
}
