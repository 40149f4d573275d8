using Conversations.Audit;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains.Audit;

/// <summary>One tenant's audit records of one day: appended one write each, never changed or removed.</summary>
public sealed class AuditGrain(
    [PersistentState("audit", StorageNames.Conversations)] IPersistentState<AuditState> state,
    ILogger<AuditGrain> logger) : Grain, IAuditGrain
{
    public async Task<Result<bool>> Append(AuditRecord record)
    {
        var next = state.State with { Records = [.. state.State.Records, record] };
        return await state.TryReplace(next, this, logger) is { } failed ? failed : true;
    }

    public Task<IReadOnlyList<AuditRecord>> List() => Task.FromResult(state.State.Records);
}

[GenerateSerializer, Immutable, Alias("audit.State")]
public sealed record AuditState
{
    [Id(0)]
    public IReadOnlyList<AuditRecord> Records { get; init; } = [];
}
