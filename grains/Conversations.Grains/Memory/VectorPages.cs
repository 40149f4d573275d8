using Conversations.Memory;
using Microsoft.Extensions.Logging;
using Orleans.Storage;

namespace Conversations.Grains.Memory;

/// <summary>
/// A vector index in storage: the newest records in the head (the grain's persistent state) and the others sealed,
/// <see cref="PageSize"/> at a time, into page records written once under keys never used before. Adding records writes
/// the head and, every <see cref="PageSize"/> records, one new page, not the whole index: a conversation of 2,000 items
/// holds about 3 MB of vectors, which every turn's indexing used to write again. A page that loses a record (a delete, or
/// an upsert of the same id) is dropped: its other records go back to the head, and its record is cleared once a head
/// that no longer names it is stored. New pages are named in the head (as unreferenced) before they are written, so a
/// write cut short leaves nothing storage does not list for clearing.
/// <para>
/// The index is derived data: a page storage has lost is logged and left out, not fatal (a conversation's next indexing
/// pass embeds the items the index lacks again). See docs/decisions/0086-a-vector-index-in-sealed-pages.md.
/// </para>
/// </summary>
internal sealed partial class VectorPages(IPersistentState<VectorIndexState> head, IGrainStorage storage, GrainId grain, ILogger logger)
{
    public const int PageSize = 32;

    private List<SealedPage> _sealed = [];

    /// <summary>Every record, the sealed pages' first (oldest first), then the head's.</summary>
    public IReadOnlyList<VectorRecord> All { get; private set; } = [];

    /// <summary>The sealed pages the head names, as stored.</summary>
    public IReadOnlyList<VectorPageRef> Pages => head.State.Pages;

    /// <summary>Reads the pages the head names; a page storage does not hold is left out and logged.</summary>
    public async Task Load()
    {
        var pages = await Task.WhenAll(head.State.Pages.Select(async page => (Ref: page, Records: await Read(page))));
        _sealed = [.. pages.Where(page => page.Records is not null).Select(page => new SealedPage(page.Ref, page.Records!))];
        if (pages.Where(page => page.Records is null).Select(page => page.Ref.Key).ToList() is { Count: > 0 } lost)
        {
            LogPagesLost(grain, lost);
            head.State = head.State with { Pages = [.. _sealed.Select(page => page.Ref)] }; // stored with the next write
        }

        Refresh();
    }

    /// <summary>
    /// Removes the records with the ids in <paramref name="removed"/> and adds <paramref name="added"/>, sealing full pages.
    /// On failure memory holds what storage holds (at most a head that lists more pages to clear).
    /// </summary>
    public async Task<Exception?> TryChange(IReadOnlySet<string> removed, IReadOnlyList<VectorRecord> added)
    {
        var (touched, intact) = (_sealed.Where(Touched).ToList(), _sealed.Where(page => !Touched(page)).ToList());
        var dropped = touched.Select(page => page.Ref.Key).ToList();
        List<VectorRecord> open =
        [
            .. touched.SelectMany(page => page.Records).Where(record => !removed.Contains(record.Id)),
            .. head.State.Records.Where(record => !removed.Contains(record.Id)),
            .. added,
        ];
        var sealing = new List<SealedPage>();
        for (; open.Count - (sealing.Count * PageSize) >= PageSize; )
        {
            var records = open.GetRange(sealing.Count * PageSize, PageSize);
            sealing.Add(new SealedPage(new VectorPageRef(Ids.Opaque(), records.Count), records));
        }

        if (sealing.Count > 0)
        {
            if (await head.TryReplace(head.State with { Unreferenced = [.. head.State.Unreferenced, .. sealing.Select(page => page.Ref.Key)] }) is { } named)
            {
                return named;
            }

            try
            {
                foreach (var page in sealing)
                {
                    await storage.WriteStateAsync(PageName(page.Ref.Key), grain, new GrainState<VectorPageRecord>(new VectorPageRecord { Records = page.Records }));
                }
            }
            catch (Exception exception)
            {
                return exception;
            }
        }

        var sealedKeys = sealing.Select(page => page.Ref.Key).ToHashSet(StringComparer.Ordinal);
        var next = new VectorIndexState
        {
            Records = open[(sealing.Count * PageSize)..],
            Pages = [.. intact.Select(page => page.Ref), .. sealing.Select(page => page.Ref)],
            Unreferenced = [.. head.State.Unreferenced.Where(key => !sealedKeys.Contains(key)), .. dropped],
        };
        if (await head.TryReplace(next) is { } failed)
        {
            return failed;
        }

        _sealed = [.. intact, .. sealing];
        Refresh();
        await ClearUnreferenced();
        return null;

        bool Touched(SealedPage page) => page.Records.Exists(record => removed.Contains(record.Id));
    }

    /// <summary>Removes the index: its pages (listed first in a head that names no page, so a clear cut short is finished by a later one), then the head.</summary>
    public async Task<Exception?> TryClear()
    {
        if (head.State.Pages.Count > 0 || head.State.Unreferenced.Count > 0)
        {
            var listed = new VectorIndexState { Unreferenced = [.. head.State.Unreferenced, .. head.State.Pages.Select(page => page.Key)] };
            if (await head.TryReplace(listed) is { } failure)
            {
                return failure;
            }

            _sealed = [];
            Refresh();
            if (!await ClearUnreferenced())
            {
                return new IOException($"Some vector pages of {grain} could not be cleared; they stay listed for the next attempt.");
            }
        }

        try
        {
            await head.ClearStateAsync();
            _sealed = [];
            Refresh();
            return null;
        }
        catch (Exception exception)
        {
            return exception;
        }
    }

    /// <summary>Clears the records of unreferenced pages; what fails stays listed (in memory now, in storage with the next head write).</summary>
    private async Task<bool> ClearUnreferenced()
    {
        var left = new List<string>();
        foreach (var key in head.State.Unreferenced)
        {
            try
            {
                var record = new GrainState<VectorPageRecord>();
                await storage.ReadStateAsync(PageName(key), grain, record);
                if (record.RecordExists)
                {
                    await storage.ClearStateAsync(PageName(key), grain, record);
                }
            }
            catch (Exception exception)
            {
                LogClearFailed(exception, key, grain);
                left.Add(key);
            }
        }

        head.State = head.State with { Unreferenced = left };
        return left.Count == 0;
    }

    private void Refresh() => All = [.. _sealed.SelectMany(page => page.Records), .. head.State.Records];

    private async Task<List<VectorRecord>?> Read(VectorPageRef page)
    {
        var record = new GrainState<VectorPageRecord>();
        await storage.ReadStateAsync(PageName(page.Key), grain, record);
        return record is { RecordExists: true, State.Records: { } records } && records.Count == page.Count ? records : null;
    }

    internal static string PageName(string key) => "vectors-page-" + key;

    private sealed record SealedPage(VectorPageRef Ref, List<VectorRecord> Records);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Vector index {Grain} lost the pages {Pages} in storage; their records are left out until indexed again")]
    private partial void LogPagesLost(GrainId grain, IReadOnlyList<string> pages);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Clearing the unreferenced vector page {Page} of {Grain} failed; retrying after a later write")]
    private partial void LogClearFailed(Exception exception, string page, GrainId grain);
}

/// <summary>The head of a vector index: the records not sealed yet, the sealed pages, and page records to clear.</summary>
[GenerateSerializer, Alias("conv.VectorIndexState")]
public sealed record VectorIndexState
{
    /// <summary>The newest records (fewer than a page, once written by this version; every record in an index stored before pages).</summary>
    [Id(0)] public List<VectorRecord> Records { get; init; } = [];

    [Id(1)] public List<VectorPageRef> Pages { get; init; } = [];

    [Id(2)] public List<string> Unreferenced { get; init; } = [];
}

[GenerateSerializer, Immutable, Alias("conv.VectorPageRef")]
public sealed record VectorPageRef([property: Id(0)] string Key, [property: Id(1)] int Count);

[GenerateSerializer, Alias("conv.VectorPageRecord")]
public sealed record VectorPageRecord
{
    [Id(0)] public List<VectorRecord> Records { get; init; } = [];
}
