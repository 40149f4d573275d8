using Conversations.Audit;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains.Audit;

/// <summary>
/// One tenant's audit records of one UTC day, in pages (<see cref="AuditPageGrain"/>) so that an append writes one bounded
/// page, never the whole day (decision 0046): administrative records one at a time into pages of
/// <see cref="AuditKeys.AdminPageSize"/> (a new page is counted in the day's state before its first record is written);
/// call records a batch at a time into pages of <see cref="AuditKeys.PageSize"/>, the pages written before the day's count
/// of them. Records are never changed; retention removes the day whole. The first record of a day tells the tenant's
/// <see cref="IAuditRetentionGrain"/>, which removes the days that fell out of retention.
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
        var once = AuditBatchIds.Of(record.Id); // a retried append of the same record lands once
        for (var attempt = 0; attempt < 2; attempt++)
        {
            if (state.State.AdminPages == 0 && await OpenAdminPage() is { } notOpened)
            {
                return notOpened;
            }

            var page = GrainFactory.GetGrain<IAuditPageGrain>(AuditKeys.AdminPage(Key, state.State.AdminPages - 1));
            var appended = await page.TryAppend(once, record, AuditKeys.AdminPageSize);
            if (!appended.IsSuccess)
            {
                return appended.Error;
            }

            if (appended.Value)
            {
                Touched(first);
                return true;
            }

            if (await OpenAdminPage() is { } full) // the last page is full: count the next one, then write to it
            {
                return full;
            }
        }

        return GatewayError.StorageUnavailable;
    }

    public async Task<Result<bool>> AppendCalls(Guid batch, IReadOnlyList<AuditRecord> records)
    {
        var current = state.State;
        if (current.Batches.Contains(batch) || records.Count == 0)
        {
            return true;
        }

        var tally = await Tally(current); // before the pages take the batch: a day stored before tallies were kept counts its records once
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

        var next = current with
        {
            CallPages = pages, LastPageFill = fill, Batches = [.. current.Batches.TakeLast(RecentBatches - 1), batch], CallErrors = CountErrors(tally, records),
            ErrorsTallied = true,
        };
        if (await state.TryReplace(next, this, logger) is { } failed)
        {
            return failed;
        }

        Touched(current.IsEmpty);
        return true;
    }

    public Task<IReadOnlyList<AuditRecord>> List() => ReadPages(state.State.AdminPages, p => AuditKeys.AdminPage(Key, p));

    public Task<IReadOnlyList<AuditRecord>> ListCalls() => ReadPages(state.State.CallPages, p => AuditKeys.Page(Key, p));

    /// <summary>Interleaves with appends, so it stores nothing: a day stored before tallies were kept is counted from its records on each read until its next append.</summary>
    public Task<IReadOnlyDictionary<int, int>> CallErrors() => Tally(state.State);

    /// <summary>The day's error tally: as kept, or counted from its records for a day stored before tallies were kept.</summary>
    private async Task<IReadOnlyDictionary<int, int>> Tally(AuditState day) =>
        day.ErrorsTallied || day.CallPages == 0 ? day.CallErrors : CountErrors(new Dictionary<int, int>(), await ListCalls());

    public async Task<GatewayError?> Clear()
    {
        var pages = Enumerable.Range(0, state.State.CallPages).Select(p => AuditKeys.Page(Key, p))
            .Concat(Enumerable.Range(0, state.State.AdminPages).Select(p => AuditKeys.AdminPage(Key, p)));
        var cleared = await Task.WhenAll(pages.Select(page => GrainFactory.GetGrain<IAuditPageGrain>(page).Clear()));
        return cleared.FirstOrDefault(e => e is not null) ?? await state.TryClear(this, logger);
    }

    /// <summary>The day's error tally with a batch's records added: written with the batch's page count, so a batch counts once.</summary>
    private static IReadOnlyDictionary<int, int> CountErrors(IReadOnlyDictionary<int, int> counted, IReadOnlyList<AuditRecord> records)
    {
        if (!records.Any(r => r.Status >= 400))
        {
            return counted;
        }

        var errors = new Dictionary<int, int>(counted);
        foreach (var record in records.Where(r => r.Status >= 400))
        {
            errors[record.Status] = errors.GetValueOrDefault(record.Status) + 1;
        }

        return errors;
    }

    private Task<GatewayError?> OpenAdminPage() => state.TryReplace(state.State with { AdminPages = state.State.AdminPages + 1 }, this, logger);

    private async Task<IReadOnlyList<AuditRecord>> ReadPages(int count, Func<int, string> key)
    {
        var pages = await Task.WhenAll(Enumerable.Range(0, count).Select(p => GrainFactory.GetGrain<IAuditPageGrain>(key(p)).List()));
        return [.. pages.SelectMany(page => page)];
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
    /// <summary>Pages of call records written (the last may have room).</summary>
    [Id(1)]
    public int CallPages { get; init; }

    [Id(2)]
    public int LastPageFill { get; init; }

    [Id(3)]
    public IReadOnlyList<Guid> Batches { get; init; } = [];

    /// <summary>Pages of administrative records opened (the last may have room; a page is counted before it is written).</summary>
    [Id(4)]
    public int AdminPages { get; init; }

    /// <summary>Call records with an error status, per status (<see cref="IAuditGrain.CallErrors"/>).</summary>
    [Id(5)]
    public IReadOnlyDictionary<int, int> CallErrors { get; init; } = new Dictionary<int, int>();

    /// <summary>Whether <see cref="CallErrors"/> counts every call record (false for a day stored by a version that kept no tally).</summary>
    [Id(6)]
    public bool ErrorsTallied { get; init; }

    public bool IsEmpty => AdminPages == 0 && CallPages == 0;
}
