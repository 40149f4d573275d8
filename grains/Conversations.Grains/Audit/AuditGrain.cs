using Conversations.Audit;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains.Audit;

/// <summary>
/// One tenant's audit records of one day: administrative records in its own state, one write each; call records in
/// pages (<see cref="AuditPageGrain"/>) of <see cref="AuditKeys.PageSize"/>, a batch at a time, the pages written before
/// the day's count of them. Records are never changed; retention removes the day whole. The first record of a day tells
/// the tenant's <see cref="IAuditRetentionGrain"/>, which removes the days that fell out of retention.
/// </summary>
public sealed class AuditGrain(
    [PersistentState("audit", StorageNames.Conversations)] IPersistentState<AuditState> state,
    ILogger<AuditGrain> logger) : Grain, IAuditGrain
{
    /// <summary>Call batches remembered, so a batch retried after an ambiguous failure is appended once.</summary>
    private const int RecentBatches = 64;

    private string Key => this.GetPrimaryKeyString();

    public async Task<Result<bool>> Append(AuditRecord record)
    {
        var first = state.State.IsEmpty;
        var next = state.State with { Records = [.. state.State.Records, record] };
        if (await state.TryReplace(next, this, logger) is { } failed)
        {
            return failed;
        }

        Touched(first);
        return true;
    }

    public async Task<Result<bool>> AppendCalls(Guid batch, IReadOnlyList<AuditRecord> records)
    {
        var current = state.State;
        if (current.Batches.Contains(batch) || records.Count == 0)
        {
            return true;
        }

        // Fill the last page, then open new ones; the pages land before the count that makes them visible.
        var (pages, fill) = current.CallPages == 0 ? (1, 0) : (current.CallPages, current.LastPageFill);
        var writes = new List<Task<GatewayError?>>();
        for (var taken = 0; taken < records.Count;)
        {
            if (fill == AuditKeys.PageSize)
            {
                (pages, fill) = (pages + 1, 0);
            }

            var count = Math.Min(AuditKeys.PageSize - fill, records.Count - taken);
            writes.Add(GrainFactory.GetGrain<IAuditPageGrain>(AuditKeys.Page(Key, pages - 1)).Append(batch, records.Skip(taken).Take(count).ToList()));
            (taken, fill) = (taken + count, fill + count);
        }

        if ((await Task.WhenAll(writes)).FirstOrDefault(e => e is not null) is { } unwritten)
        {
            return unwritten; // the sender retries with the same batch id: pages that have it do not append it twice
        }

        var next = current with { CallPages = pages, LastPageFill = fill, Batches = [.. current.Batches.TakeLast(RecentBatches - 1), batch] };
        if (await state.TryReplace(next, this, logger) is { } failed)
        {
            return failed;
        }

        Touched(current.IsEmpty);
        return true;
    }

    public Task<IReadOnlyList<AuditRecord>> List() => Task.FromResult(state.State.Records);

    public async Task<IReadOnlyList<AuditRecord>> ListCalls()
    {
        var pages = await Task.WhenAll(Enumerable.Range(0, state.State.CallPages).Select(p => GrainFactory.GetGrain<IAuditPageGrain>(AuditKeys.Page(Key, p)).List()));
        return [.. pages.SelectMany(page => page)];
    }

    public async Task<GatewayError?> Clear()
    {
        var cleared = await Task.WhenAll(Enumerable.Range(0, state.State.CallPages).Select(p => GrainFactory.GetGrain<IAuditPageGrain>(AuditKeys.Page(Key, p)).Clear()));
        return cleared.FirstOrDefault(e => e is not null) ?? await state.TryClear(this, logger);
    }

    private void Touched(bool firstOfDay)
    {
        if (firstOfDay && Key.LastIndexOf('/') is var slash and > 0 && DateOnly.TryParseExact(Key[(slash + 1)..], "yyyy-MM-dd", out var day))
        {
            _ = GrainFactory.GetGrain<IAuditRetentionGrain>(Key[..slash]).Touch(day); // one-way: retention never delays a write
        }
    }
}

[GenerateSerializer, Immutable, Alias("audit.State")]
public sealed record AuditState
{
    [Id(0)]
    public IReadOnlyList<AuditRecord> Records { get; init; } = [];

    /// <summary>Pages of call records written (the last may have room).</summary>
    [Id(1)]
    public int CallPages { get; init; }

    [Id(2)]
    public int LastPageFill { get; init; }

    [Id(3)]
    public IReadOnlyList<Guid> Batches { get; init; } = [];

    public bool IsEmpty => Records.Count == 0 && CallPages == 0;
}
