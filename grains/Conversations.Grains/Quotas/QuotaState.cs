namespace Conversations.Grains.Quotas;

/// <summary>
/// A tenant's quota state as stored: budget use, the minute's windows and the calls in flight, for every scope, as of
/// one moment; and what the activation that wrote it may admit after that moment before its next write
/// (<see cref="Headroom"/>). <see cref="Clean"/> is set only by the write of an activation that is going away, after
/// which it admits nothing: a new activation finding it unset knows the last one died, and counts the headroom as used.
/// </summary>
[GenerateSerializer, Alias("tenancy.QuotaState")]
public sealed record QuotaState
{
    [Id(0)] public Dictionary<string, BudgetUse> Budgets { get; init; } = new(StringComparer.Ordinal);

    [Id(1)] public Dictionary<string, List<WindowBucket>> Windows { get; init; } = new(StringComparer.Ordinal);

    [Id(2)] public List<StoredLease> Leases { get; init; } = [];

    [Id(3)] public QuotaUse Headroom { get; init; }

    [Id(4)] public bool Clean { get; init; }
}

/// <summary>An admitted call not yet settled: its reservation, and the scopes it holds a slot in.</summary>
[GenerateSerializer, Immutable, Alias("tenancy.StoredLease")]
public sealed record StoredLease(
    [property: Id(0)] string Id,
    [property: Id(1)] DateTimeOffset ExpiresAt,
    [property: Id(2)] long Tokens,
    [property: Id(3)] decimal CostUsd,
    [property: Id(4)] List<string> Scopes);

/// <summary>Admissions counted three ways: calls, reserved tokens, reserved cost.</summary>
[GenerateSerializer, Immutable, Alias("tenancy.QuotaUse")]
public readonly record struct QuotaUse([property: Id(0)] int Requests, [property: Id(1)] long Tokens, [property: Id(2)] decimal CostUsd)
{
    public static QuotaUse operator +(QuotaUse a, QuotaUse b) => new(a.Requests + b.Requests, a.Tokens + b.Tokens, a.CostUsd + b.CostUsd);

    public static QuotaUse operator -(QuotaUse a, QuotaUse b) => new(a.Requests - b.Requests, a.Tokens - b.Tokens, a.CostUsd - b.CostUsd);

    /// <summary>Whether this is within <paramref name="limit"/> in all three.</summary>
    public bool Within(QuotaUse limit) => Requests <= limit.Requests && Tokens <= limit.Tokens && CostUsd <= limit.CostUsd;

    public static QuotaUse Max(QuotaUse a, QuotaUse b) => new(Math.Max(a.Requests, b.Requests), Math.Max(a.Tokens, b.Tokens), Math.Max(a.CostUsd, b.CostUsd));
}
