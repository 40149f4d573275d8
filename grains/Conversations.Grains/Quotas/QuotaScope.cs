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

    /// <summary>
    /// The minute's requests and tokens in one-second buckets, each stamped with its bucket's end (or <paramref name="now"/>,
    /// if earlier): restored, an entry leaves the window no earlier than the one it stands for, so a restored window never
    /// admits more; and no entry is later than the snapshot, so a window restored later stays in time order.
    /// </summary>
    public List<WindowBucket> SnapshotWindow(DateTimeOffset now)
    {
        DateTimeOffset BucketEnd(DateTimeOffset at)
        {
            var end = new DateTimeOffset(at.UtcTicks - (at.UtcTicks % TimeSpan.TicksPerSecond) + TimeSpan.TicksPerSecond, TimeSpan.Zero);
            return end < now ? end : now;
        }

        var buckets = new SortedDictionary<DateTimeOffset, WindowBucket>();
        foreach (var at in _requests)
        {
            var end = BucketEnd(at);
            buckets[end] = buckets.TryGetValue(end, out var bucket) ? bucket with { Requests = bucket.Requests + 1 } : new WindowBucket(end, 1, 0);
        }

        foreach (var entry in _tokens)
        {
            var end = BucketEnd(entry.At);
            buckets[end] = buckets.TryGetValue(end, out var bucket) ? bucket with { Tokens = bucket.Tokens + entry.Tokens } : new WindowBucket(end, 0, entry.Tokens);
        }

        return [.. buckets.Values];
    }

    /// <summary>Adds a snapshot's buckets (oldest first) to the window, as requests and tokens made at each bucket's end.</summary>
    public void RestoreWindow(IEnumerable<WindowBucket> buckets)
    {
        foreach (var bucket in buckets)
        {
            Add(bucket.Requests, bucket.Tokens, bucket.At);
        }
    }

    /// <summary>Counts <paramref name="requests"/> requests and <paramref name="tokens"/> tokens as made at <paramref name="now"/>.</summary>
    public void Add(int requests, long tokens, DateTimeOffset now)
    {
        for (var i = 0; i < requests; i++)
        {
            AddRequest(now);
        }

        if (tokens > 0)
        {
            AddTokens(now, tokens);
        }
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

/// <summary>Requests and tokens a window counted in the second that ends at <see cref="At"/>.</summary>
[GenerateSerializer, Immutable, Alias("tenancy.WindowBucket")]
public sealed record WindowBucket([property: Id(0)] DateTimeOffset At, [property: Id(1)] int Requests, [property: Id(2)] long Tokens);

/// <summary>Tokens and cost used in the current UTC day and month.</summary>
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
