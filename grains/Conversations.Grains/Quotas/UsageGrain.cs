using Conversations.Tenancy;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains.Quotas;

/// <summary>One tenant's usage for one day, aggregated per key, end user and model.</summary>
public sealed class UsageGrain(
    [PersistentState("usage", StorageNames.Conversations)] IPersistentState<UsageState> state,
    ILogger<UsageGrain> logger) : Grain, IUsageGrain
{
    /// <summary>Enough recent batch ids to recognise any retry (a tenant flushes one batch a day every few seconds).</summary>
    private const int RememberedBatches = 512;

    public async Task<GatewayError?> Record(Guid batchId, IReadOnlyList<UsageRow> rows)
    {
        if (state.State.Batches.Contains(batchId))
        {
            return null;
        }

        var previous = state.State;
        var totals = new Dictionary<(DateOnly, string, string, string), UsageRow>(previous.Rows.Select(r => KeyValuePair.Create(r.Group, r)));
        foreach (var row in rows)
        {
            totals[row.Group] = totals.TryGetValue(row.Group, out var existing) ? existing.Add(row) : row;
        }

        return await state.TryReplace(
            new UsageState { Rows = [.. totals.Values], Batches = [.. previous.Batches.TakeLast(RememberedBatches - 1), batchId] }, this, logger);
    }

    public Task<IReadOnlyList<UsageRow>> Get() => Task.FromResult<IReadOnlyList<UsageRow>>(state.State.Rows);
}

[GenerateSerializer, Alias("tenancy.UsageState")]
public sealed record UsageState
{
    [Id(0)] public List<UsageRow> Rows { get; init; } = [];

    [Id(1)] public List<Guid> Batches { get; init; } = [];
}
