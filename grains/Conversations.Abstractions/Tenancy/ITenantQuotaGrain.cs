using Orleans.Concurrency;

namespace Conversations.Tenancy;

/// <summary>
/// Admission control for one tenant, keyed by tenant id: the tenant's, its keys' and its end users'
/// rate limits, concurrency and budgets, enforced in one activation, so exactly across the cluster.
/// </summary>
public interface ITenantQuotaGrain : IGrainWithStringKey
{
    /// <summary>Admits a call and reserves its estimated tokens and cost, or refuses it with a 429.</summary>
    /// <remarks>Runs without awaiting, so it is atomic even while a flush is writing state.</remarks>
    [AlwaysInterleave]
    Task<Result<Admission>> Admit(AdmissionRequest request);

    /// <summary>Replaces the reservation with the actual usage and frees the concurrency slot. Idempotent.</summary>
    [AlwaysInterleave]
    Task Settle(string leaseId, Caller caller, string? endUser, string model, TokenUsage actual, decimal costUsd);

    /// <summary>Settles a call the response cache answered: a request that used no tokens and cost nothing, and saved <paramref name="savedCostUsd"/>.</summary>
    [AlwaysInterleave]
    Task SettleCacheHit(string leaseId, Caller caller, string? endUser, string model, decimal savedCostUsd);

    /// <summary>
    /// Hands aggregated usage to the usage grains and writes budget use now (both are otherwise written every few
    /// seconds); <see cref="GatewayError.StorageUnavailable"/> when some of it could not be stored.
    /// </summary>
    Task<GatewayError?> FlushUsage();
}

[GenerateSerializer, Immutable, Alias("tenancy.AdmissionRequest")]
public sealed record AdmissionRequest(
    [property: Id(0)] string LeaseId,
    [property: Id(1)] Caller Caller,
    [property: Id(2)] string? EndUser,
    [property: Id(3)] int EstimatedTokens,
    [property: Id(4)] decimal EstimatedCostUsd);

/// <summary>An admitted call: what the rate-limit headers report.</summary>
[GenerateSerializer, Immutable, Alias("tenancy.Admission")]
public sealed record Admission(
    [property: Id(0)] RateLimitStatus? Requests,
    [property: Id(1)] RateLimitStatus? Tokens);

/// <summary>The most constrained window of one kind: its limit, what remains, and when it is full again.</summary>
[GenerateSerializer, Immutable, Alias("tenancy.RateLimitStatus")]
public sealed record RateLimitStatus(
    [property: Id(0)] long Limit,
    [property: Id(1)] long Remaining,
    [property: Id(2)] TimeSpan ResetAfter);
