namespace Conversations.Caching;

/// <summary>Whether a route's answers are cached: not at all, by an exact key, or also by the meaning of the last user message.</summary>
public enum CacheMode
{
    Off,
    Exact,
    Semantic,
}

/// <summary>Who shares cached answers: every caller of the tenant, or only calls for the same end user.</summary>
public enum CacheScope
{
    Tenant,
    User,
}

/// <summary>
/// The response cache's policy, set on a route or as a tenant's default (the route's wins). Off unless set.
/// <see cref="Similarity"/> is the cosine a semantic hit must reach; <see cref="TtlSeconds"/> how long an answer is kept.
/// </summary>
[GenerateSerializer, Immutable, Alias("cache.Policy")]
public sealed record CachePolicy
{
    public const int DefaultTtlSeconds = 3600;
    public const int MaxTtlSeconds = 30 * 86_400;
    public const double DefaultSimilarity = 0.95;

    public static CachePolicy Off { get; } = new();

    [Id(0)] public CacheMode Mode { get; init; } = CacheMode.Off;

    [Id(1)] public int? TtlSeconds { get; init; }

    [Id(2)] public double? Similarity { get; init; }

    [Id(3)] public CacheScope Scope { get; init; } = CacheScope.Tenant;

    public TimeSpan Ttl => TimeSpan.FromSeconds(TtlSeconds ?? DefaultTtlSeconds);

    public double MinSimilarity => Similarity ?? DefaultSimilarity;

    /// <summary>The policy a call runs under: its route's, else its tenant's default, else off.</summary>
    public static CachePolicy Effective(CachePolicy? route, CachePolicy? tenant) => route ?? tenant ?? Off;
}

/// <summary>A request's <c>Cache-Control</c>: <c>no-cache</c> skips the lookup (and stores the fresh answer), <c>no-store</c> neither reads nor writes.</summary>
public enum CacheDirective
{
    Default,
    NoCache,
    NoStore,
}

/// <summary>What the cache did with a call, as <c>x-conversations-cache</c> says.</summary>
public enum CacheOutcome
{
    Bypass,
    Miss,
    Hit,
}
