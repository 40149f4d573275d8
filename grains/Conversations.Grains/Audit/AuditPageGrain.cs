using Conversations.Audit;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains.Audit;

/// <summary>One page of a day's audit records (<see cref="AuditGrain"/>); each batch appended once. A write rewrites this page only.</summary>
public sealed class AuditPageGrain(
    [PersistentState("auditpage", StorageNames.Conversations)] IPersistentState<AuditPageState> state,
    ILogger<AuditPageGrain> logger) : Grain, IAuditPageGrain
{
    public async Task<GatewayError?> Append(Guid batch, IReadOnlyList<AuditRecord> records) =>
        state.State.Batches.Contains(batch) ? null
        : await state.TryReplace(new AuditPageState { Records = [.. state.State.Records, .. records], Batches = [.. state.State.Batches, batch] }, this, logger);

    public async Task<Result<bool>> TryAppend(Guid batch, AuditRecord record, int capacity)
    {
        if (state.State.Batches.Contains(batch))
        {
            return true;
        }

        if (state.State.Records.Count >= capacity)
        {
            return false;
        }

        return await Append(batch, [record]) is { } failed ? failed : true;
    }

    public Task<IReadOnlyList<AuditRecord>> List() => Task.FromResult(state.State.Records);

    public Task<GatewayError?> Clear() => state.TryClear(this, logger);
}

[GenerateSerializer, Immutable, Alias("audit.PageState")]
public sealed record AuditPageState
{
    [Id(0)]
    public IReadOnlyList<AuditRecord> Records { get; init; } = [];

    [Id(1)]
    public IReadOnlyList<Guid> Batches { get; init; } = [];
}
