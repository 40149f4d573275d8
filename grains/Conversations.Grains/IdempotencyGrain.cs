using Microsoft.Extensions.Logging;

namespace Conversations.Grains;

/// <summary>One idempotency key of a stateless request. A claim left in progress by a crashed caller lapses.</summary>
public sealed class IdempotencyGrain(
    [PersistentState("idempotency", StorageNames.Conversations)] IPersistentState<IdempotencyState> state,
    TimeProvider clock,
    ILogger<IdempotencyGrain> logger) : Grain, IIdempotencyGrain
{
    private static readonly TimeSpan ClaimLapsesAfter = TimeSpan.FromMinutes(10);

    public async Task<Result<IdempotencyClaim>> Claim(string fingerprint)
    {
        var now = clock.GetUtcNow();
        var current = state.State;
        if (current.Fingerprint is not null)
        {
            if (current.Fingerprint != fingerprint)
            {
                return new IdempotencyClaim(IdempotencyOutcome.Mismatch);
            }

            if (current.ResponseId is not null)
            {
                return new IdempotencyClaim(IdempotencyOutcome.Completed, current.ResponseId);
            }

            if (current.ClaimedAt + ClaimLapsesAfter > now)
            {
                return new IdempotencyClaim(IdempotencyOutcome.InProgress);
            }
        }

        return await state.TryReplace(new IdempotencyState { Fingerprint = fingerprint, ClaimedAt = now }, this, logger)
            ?? (Result<IdempotencyClaim>)new IdempotencyClaim(IdempotencyOutcome.Claimed);
    }

    public Task<GatewayError?> Complete(string responseId) => state.TryReplace(state.State with { ResponseId = responseId }, this, logger);

    public async Task<GatewayError?> Release()
    {
        var failed = await state.TryClear(this, logger);
        DeactivateOnIdle();
        return failed;
    }
}

[GenerateSerializer, Alias("conv.IdempotencyState")]
public sealed record IdempotencyState
{
    [Id(0)] public string? Fingerprint { get; init; }

    [Id(1)] public DateTimeOffset ClaimedAt { get; init; }

    [Id(2)] public string? ResponseId { get; init; }
}
