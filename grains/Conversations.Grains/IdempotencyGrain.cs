namespace Conversations.Grains;

/// <summary>One idempotency key of a stateless request. A claim left in progress by a crashed caller lapses.</summary>
public sealed class IdempotencyGrain(
    [PersistentState("idempotency", StorageNames.Conversations)] IPersistentState<IdempotencyState> state,
    TimeProvider clock) : Grain, IIdempotencyGrain
{
    private static readonly TimeSpan ClaimLapsesAfter = TimeSpan.FromMinutes(10);

    public async Task<IdempotencyClaim> Claim(string fingerprint)
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

        state.State = new IdempotencyState { Fingerprint = fingerprint, ClaimedAt = now };
        await state.WriteStateAsync();
        return new IdempotencyClaim(IdempotencyOutcome.Claimed);
    }

    public async Task Complete(string responseId)
    {
        state.State = state.State with { ResponseId = responseId };
        await state.WriteStateAsync();
    }

    public async Task Release()
    {
        await state.ClearStateAsync();
        DeactivateOnIdle();
    }
}

[GenerateSerializer, Alias("conv.IdempotencyState")]
public sealed record IdempotencyState
{
    [Id(0)] public string? Fingerprint { get; init; }

    [Id(1)] public DateTimeOffset ClaimedAt { get; init; }

    [Id(2)] public string? ResponseId { get; init; }
}
