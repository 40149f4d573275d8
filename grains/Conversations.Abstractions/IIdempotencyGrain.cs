namespace Conversations;

/// <summary>
/// An <c>Idempotency-Key</c> of a request that no conversation can deduplicate (a response without a
/// conversation), keyed <c>{tenant}/{key}</c>: the first request claims it, a retry gets its outcome.
/// </summary>
public interface IIdempotencyGrain : IGrainWithStringKey
{
    Task<Result<IdempotencyClaim>> Claim(string fingerprint);

    Task<GatewayError?> Complete(string responseId);

    /// <summary>The claimed request failed: a retry may run it again.</summary>
    Task<GatewayError?> Release();
}

[GenerateSerializer]
public enum IdempotencyOutcome
{
    /// <summary>First use: go ahead.</summary>
    Claimed,

    /// <summary>The first request is still running.</summary>
    InProgress,

    /// <summary>Done before: replay <see cref="IdempotencyClaim.ResponseId"/>.</summary>
    Completed,

    /// <summary>The key was used with a different body.</summary>
    Mismatch,
}

[GenerateSerializer, Immutable, Alias("conv.IdempotencyClaim")]
public sealed record IdempotencyClaim(
    [property: Id(0)] IdempotencyOutcome Outcome,
    [property: Id(1)] string? ResponseId = null);
