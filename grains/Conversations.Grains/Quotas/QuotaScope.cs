using Conversations.Tenancy;

namespace Conversations.Grains.Quotas;

/// <summary>
/// The counters of one scope (the tenant, one key, or one end user): sliding one-minute logs of
/// requests and tokens, calls in flight, and the day's and month's budget use.
/// </summary>
internal sealed class QuotaScope(string name)
{
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly Queue<DateTimeOffset> _requests = new();
    private readonly Queue<TokenEntry> _tokens = new();
    private long _tokensInWindow;
    private DateTimeOffset _lastRequestAt;
    private DateTimeOffset _lastTokensAt;

    public string Name { get; } = name;

    public int InFlight { get; set; }

    public BudgetUse Budget { get; set; } = new();

    public long ReservedTokens { get; set; }

    public decimal ReservedCostUsd { get; set; }

    public int RequestsInWindow => _requests.Count;

    public long TokensInWindow => _tokensInWindow;

    public void Expire(DateTimeOffset now)
    {
        while (_requests.TryPeek(out var at) && at + Window <= now)
        {
            _requests.Dequeue();
        }

        while (_tokens.TryPeek(out var entry) && entry.At + Window <= now)
        {
            var expired = _tokens.Dequeue();
            expired.InWindow = false;
            _tokensInWindow -= expired.Tokens;
        }

        Budget = Budget.RollOver(now);
    }

    public TimeSpan UntilRequestFrees(DateTimeOffset now) => _requests.TryPeek(out var oldest) ? oldest + Window - now : TimeSpan.Zero;

    public TimeSpan UntilRequestsReset(DateTimeOffset now) => _requests.Count > 0 ? _lastRequestAt + Window - now : TimeSpan.Zero;

    /// <summary>How long until enough tokens leave the window for <paramref name="needed"/> more to fit under <paramref name="limit"/>.</summary>
    public TimeSpan UntilTokensFree(long needed, long limit, DateTimeOffset now)
    {
        var excess = _tokensInWindow + needed - limit;
        foreach (var entry in _tokens)
        {
            excess -= entry.Tokens;
            if (excess <= 0)
            {
                return entry.At + Window - now;
            }
        }

        return Window;
    }

    public TimeSpan UntilTokensReset(DateTimeOffset now) => _tokens.Count > 0 ? _lastTokensAt + Window - now : TimeSpan.Zero;

    public void AddRequest(DateTimeOffset now)
    {
        _requests.Enqueue(now);
        _lastRequestAt = now;
    }

    public TokenEntry AddTokens(DateTimeOffset now, long tokens)
    {
        var entry = new TokenEntry(now) { Tokens = tokens };
        _tokens.Enqueue(entry);
        _lastTokensAt = now;
        _tokensInWindow += tokens;
        return entry;
    }

    /// <summary>Replaces a reservation with the actual count, if it is still inside the window.</summary>
    public void Correct(TokenEntry entry, long actual)
    {
        if (entry.InWindow)
        {
            _tokensInWindow += actual - entry.Tokens;
        }

        entry.Tokens = actual;
    }

    internal sealed class TokenEntry(DateTimeOffset at)
    {
        public DateTimeOffset At { get; } = at;

        public long Tokens { get; set; }

        public bool InWindow { get; set; } = true;
    }
}

/// <summary>Tokens and cost used in the current UTC day and month: the part of quota state that is persisted.</summary>
[GenerateSerializer, Immutable, Alias("tenancy.BudgetUse")]
public sealed record BudgetUse
{
    [Id(0)] public DateOnly Day { get; init; }

    [Id(1)] public long DayTokens { get; init; }

    [Id(2)] public decimal DayCostUsd { get; init; }

    [Id(3)] public DateOnly Month { get; init; }

    [Id(4)] public long MonthTokens { get; init; }

    [Id(5)] public decimal MonthCostUsd { get; init; }

    public BudgetUse RollOver(DateTimeOffset now)
    {
        var day = DateOnly.FromDateTime(now.UtcDateTime);
        var month = new DateOnly(day.Year, day.Month, 1);
        var current = Month == month ? this : new BudgetUse { Day = Day, DayTokens = DayTokens, DayCostUsd = DayCostUsd, Month = month };
        return current.Day == day ? current : current with { Day = day, DayTokens = 0, DayCostUsd = 0 };
    }

    public BudgetUse Add(long tokens, decimal costUsd) => this with
    {
        DayTokens = DayTokens + tokens,
        DayCostUsd = DayCostUsd + costUsd,
        MonthTokens = MonthTokens + tokens,
        MonthCostUsd = MonthCostUsd + costUsd,
    };

    public static TimeSpan UntilNextDay(DateTimeOffset now) => now.UtcDateTime.Date.AddDays(1) - now.UtcDateTime;

    public static TimeSpan UntilNextMonth(DateTimeOffset now)
    {
        var start = new DateTime(now.UtcDateTime.Year, now.UtcDateTime.Month, 1, 0, 0, 0, DateTimeKind.Utc);
        return start.AddMonths(1) - now.UtcDateTime;
    }
}
