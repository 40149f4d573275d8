using Microsoft.Extensions.Logging;
using Orleans.Storage;

namespace Conversations.Grains;

/// <summary>
/// Stores a conversation so that a turn writes what it changed, not its whole history. The oldest items are
/// sealed, <see cref="PageSize"/> at a time, into pages: each its own record, written once under a key never
/// used before. The head record (the <see cref="ConversationState"/> under the grain's persistent state) holds
/// everything else: the items after the pages, the list of pages, metadata, memory and idempotency records.
/// <para>
/// New pages are named in the head (as unreferenced) before they are written, and referenced by the next head
/// write, whose ETag check decides; so a page is referenced only once it is whole, a write cut short leaves a
/// page the head still lists for clearing, and a stale activation, whose head write fails, writes no page at all.
/// A page that loses items (one deleted) is written again under a new key; the old record is cleared once the
/// head no longer references it. See docs/decisions/0011-conversation-items-in-sealed-pages.md.
/// </para>
/// <para>
/// An activation reads the head and its newest pages (<see cref="DefaultResidentPages"/> unless configured); the older ones are read when something
/// needs them (<see cref="LoadAll"/>), for the request that needs them (<see cref="Trim"/>). Until then <see cref="State"/> holds the newest items only and counts the others
/// as <see cref="ConversationState.Unloaded"/>; nothing changes them, so a write keeps their pages as they are.
/// See docs/decisions/0044-a-conversation-reads-its-older-pages-when-needed.md.
/// </para>
/// </summary>
internal sealed partial class ConversationStore(
    IPersistentState<ConversationState> head, IGrainStorage storage, GrainId grain, ILogger logger, int residentPages = ConversationStore.DefaultResidentPages)
{
    public const int PageSize = 64;

    /// <summary>The head record's state name (pages are <see cref="PageName"/>), both under the conversation grain's id.</summary>
    public const string HeadName = "conversation";

    /// <summary>The pages an activation reads at once unless configured (<see cref="Context.SummaryOptions.ResidentPages"/>): the newest, which a turn's window draws on.</summary>
    public const int DefaultResidentPages = 2;

    private ConversationState _state = head.State;

    /// <summary>The items of the older pages <see cref="LoadAll"/> read last, with those pages: held until the next write unless <see cref="KeepsHistory"/>.</summary>
    private (List<ItemPageRef> Pages, List<ConversationItem> Items)? _older;

    private (List<ItemPageRef> Pages, Task<List<ConversationItem>> Items)? _loading;

    /// <summary>The conversation as the grain works with it: every item, or, until <see cref="LoadAll"/>, the newest.</summary>
    public ConversationState State { get => _state; private set => _state = Held(value); }

    /// <summary>
    /// Whether the activation keeps every item it has read, because its turns read the whole history (a summarizer, an
    /// extractor, recall: <see cref="Context.TurnContext.Read"/>). Otherwise every write lets go of the items past the
    /// resident pages and of what <see cref="LoadAll"/> read (<see cref="Trim"/>). See docs/decisions/0084-an-activation-holds-its-resident-pages-not-its-history.md.
    /// </summary>
    public bool KeepsHistory { get; set; }

    /// <summary>How many items the activation holds in memory now (the rest are <see cref="ConversationState.Unloaded"/>).</summary>
    public int Resident => _state.Items.Count;

    /// <summary>
    /// Pages the head references that storage does not hold (removed or restored outside the gateway): the
    /// conversation is damaged, <see cref="State"/> holds only the head's items, and only <see cref="TryClear"/> is safe.
    /// </summary>
    public IReadOnlyList<string> Missing { get; private set; } = [];

    /// <summary>
    /// Reads the newest pages the head references (<c>residentPages</c> of them) (the head itself Orleans has read before
    /// activation); false, logged, when storage has lost some (<see cref="Missing"/>).
    /// </summary>
    public async Task<bool> Load()
    {
        for (var attempt = 0; ; attempt++)
        {
            var stored = head.State;
            var unread = Math.Max(0, stored.Pages.Count - residentPages);
            var pages = await Task.WhenAll(stored.Pages.Skip(unread).Select(Read));
            Missing = [.. stored.Pages.Skip(unread).Where((_, i) => pages[i] is null).Select(page => page.Key)];
            State = pages.Length == 0 || Missing.Count > 0 ? stored : stored with
            {
                Items = [.. pages.SelectMany(page => page!), .. stored.Items],
                Unloaded = stored.Pages.Take(unread).Sum(page => page.Count),
            };
            if (Missing.Count == 0)
            {
                return true;
            }

            if (attempt == 1)
            {
                LogDamaged(grain, Missing);
                return false;
            }

            // The head may have moved on since Orleans read it (another activation replaced the page): read both again once.
            await head.ReadStateAsync();
        }
    }

    /// <summary>
    /// <paramref name="state"/> with every item: the pages it left unread are read (concurrent callers share the reading) unless
    /// the last reading was of the same pages and is still held. A page storage has lost makes the conversation damaged
    /// (<see cref="Missing"/>) and fails the call; a damaged conversation reads nothing more (the state comes back as it was).
    /// </summary>
    public async Task<ConversationState> LoadAll(ConversationState state)
    {
        if (state.Unloaded == 0 || Missing.Count > 0)
        {
            return state;
        }

        var older = Older(state);
        if (_older is { } held && SamePages(held.Pages, older))
        {
            return Join(state, held.Items);
        }

        if (_loading is not { } loading || loading.Items.IsCompleted || !SamePages(loading.Pages, older))
        {
            _loading = loading = (older, ReadOlder(older));
        }

        var items = await loading.Items;
        _older = (older, items);
        _state = Held(_state);
        return Join(state, items);
    }

    /// <summary><paramref name="state"/> with the older items held (<see cref="LoadAll"/>) before its own, when they are those of its unread pages.</summary>
    public ConversationState Held(ConversationState state) =>
        state.Unloaded > 0 && _older is { } held && SamePages(held.Pages, Older(state)) ? Join(state, held.Items) : state;

    /// <summary>
    /// After a write, unless <see cref="KeepsHistory"/>: lets go of the items of the sealed pages before the resident ones
    /// (counted as unread, as an activation starts) and of the older items <see cref="LoadAll"/> read. What a caller took
    /// before stays its own (states are never changed in place); the store holds only the newest pages and the open one.
    /// </summary>
    private void Trim()
    {
        if (KeepsHistory)
        {
            return;
        }

        _older = null;
        var state = _state;
        var past = state.Pages.Take(state.Pages.Count - residentPages).Sum(page => page.Count) - state.Unloaded;
        if (past > 0)
        {
            _state = state with { Items = state.Items.GetRange(past, state.Items.Count - past), Unloaded = state.Unloaded + past };
        }
    }

    /// <summary>The pages that hold <paramref name="state"/>'s unread items (the oldest <see cref="ConversationState.Unloaded"/>).</summary>
    private static List<ItemPageRef> Older(ConversationState state)
    {
        var older = new List<ItemPageRef>();
        for (var (i, count) = (0, 0); count < state.Unloaded; count += state.Pages[i++].Count)
        {
            older.Add(state.Pages[i]);
        }

        return older;
    }

    /// <summary>Whether two lists name the same pages: a page's key is never reused, so its items are the same.</summary>
    private static bool SamePages(List<ItemPageRef> a, List<ItemPageRef> b) =>
        a.Count == b.Count && a.Select(page => page.Key).SequenceEqual(b.Select(page => page.Key), StringComparer.Ordinal);

    private static ConversationState Join(ConversationState state, List<ConversationItem> older) =>
        state with { Items = [.. older, .. state.Items], Unloaded = 0 };

    private async Task<List<ConversationItem>> ReadOlder(List<ItemPageRef> older)
    {
        var pages = await Task.WhenAll(older.Select(Read));
        if (older.Where((_, i) => pages[i] is null).Select(page => page.Key).ToList() is { Count: > 0 } missing)
        {
            Missing = missing;
            LogDamaged(grain, missing);
            throw new InvalidOperationException($"{grain} is damaged (item pages missing in storage): it can only be deleted.");
        }

        return [.. pages.SelectMany(page => page!)];
    }

    /// <summary>Writes <paramref name="next"/>; on failure <see cref="State"/> is what storage holds, with no item of <paramref name="next"/>.</summary>
    public async Task<Exception?> TryReplace(ConversationState next)
    {
        if (Missing.Count > 0)
        {
            return new InvalidOperationException($"{grain} is damaged (item pages missing in storage): it can only be cleared.");
        }

        var plan = Plan(State, next.Items, Ids.Opaque, next.Unloaded);
        var keys = plan.Writes.Select(write => write.Page.Key).ToList();
        if (keys.Count > 0)
        {
            if (await WriteHead(State with { Unreferenced = [.. State.Unreferenced, .. keys] }) is { } named)
            {
                return named;
            }

            try
            {
                foreach (var (page, items) in plan.Writes)
                {
                    await storage.WriteStateAsync(PageName(page.Key), grain, new GrainState<ItemPageRecord>(new ItemPageRecord { Items = items }));
                }
            }
            catch (Exception exception)
            {
                return exception;
            }
        }

        var written = next with { Pages = plan.Pages, Unreferenced = [.. State.Unreferenced.Except(keys), .. plan.Dropped] };
        if (await WriteHead(written) is { } failure)
        {
            return failure;
        }

        // Only now, after a head write whose ETag check passed, is no stored head naming what memory lists as
        // unreferenced: a head write that failed may still have landed, so nothing is cleared after a failure.
        await ClearUnreferenced();
        Trim();
        return null;
    }

    /// <summary>
    /// Removes the conversation: its pages (listed first in a head that no longer exists as a conversation, so a
    /// clear cut short is finished by a later one), then the head. On failure what is left is listed for clearing.
    /// </summary>
    public async Task<Exception?> TryClear()
    {
        if (State.Pages.Count > 0 || State.Unreferenced.Count > 0)
        {
            if (await WriteHead(new ConversationState { Unreferenced = [.. State.Pages.Select(page => page.Key), .. State.Unreferenced] }) is { } failure)
            {
                return failure;
            }

            if (!await ClearUnreferenced())
            {
                return new IOException($"Some item pages of {grain} could not be cleared; they stay listed for the next attempt.");
            }
        }

        try
        {
            await head.ClearStateAsync();
            State = head.State;
            (Missing, _older, _loading) = ([], null, null);
            return null;
        }
        catch (Exception exception)
        {
            return exception;
        }
    }

    /// <summary>
    /// Where <paramref name="next"/>'s items go: current pages whose items <paramref name="next"/> still has in place
    /// are kept; a page that lost items is rewritten under a new key (dropped if it lost them all); from the first page
    /// whose items moved, the rest is treated as new. Whole pages are then sealed off the items after the last page.
    /// The pages of items either state has not read (<see cref="ConversationState.Unloaded"/>, <paramref name="nextUnloaded"/>)
    /// are kept: nothing changes an item it has not read.
    /// </summary>
    internal static PagePlan Plan(ConversationState current, List<ConversationItem> next, Func<string> newKey, int nextUnloaded = 0)
    {
        var pages = new List<ItemPageRef>();
        var writes = new List<(ItemPageRef Page, List<ConversationItem> Items)>();
        var dropped = new List<string>();
        HashSet<string>? present = null;
        var unread = Math.Max(current.Unloaded, nextUnloaded);
        var (from, at, inPlace) = (0, unread - nextUnloaded, true); // from counts every item; at and start index the lists in hand
        foreach (var page in current.Pages)
        {
            var start = from - current.Unloaded;
            from += page.Count;
            if (from <= unread)
            {
                pages.Add(page);
                continue;
            }

            if (inPlace && At(current.Items, start, page.Count, next, at)) // a turn's path: no copy of the page
            {
                pages.Add(page);
                at += page.Count;
                continue;
            }

            dropped.Add(page.Key);
            if (!inPlace)
            {
                continue;
            }

            present ??= next.Select(item => item.Id).ToHashSet(StringComparer.Ordinal);
            var kept = current.Items.GetRange(start, page.Count).FindAll(item => present.Contains(item.Id));
            inPlace = At(kept, 0, kept.Count, next, at);
            if (inPlace && kept.Count > 0)
            {
                Seal(kept);
            }
        }

        for (; next.Count - at >= PageSize;)
        {
            Seal(next.GetRange(at, PageSize));
        }

        return new PagePlan(pages, writes, dropped);

        void Seal(List<ConversationItem> items)
        {
            var page = new ItemPageRef(newKey(), items.Count);
            pages.Add(page);
            writes.Add((page, items));
            at += items.Count;
        }
    }

    /// <summary>Whether <paramref name="count"/> items of <paramref name="items"/> from <paramref name="start"/> are, the same objects, in <paramref name="next"/> at <paramref name="at"/>.</summary>
    private static bool At(List<ConversationItem> items, int start, int count, List<ConversationItem> next, int at)
    {
        if (at + count > next.Count)
        {
            return false;
        }

        for (var i = 0; i < count; i++)
        {
            if (!ReferenceEquals(items[start + i], next[at + i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Writes <paramref name="state"/> as the head (its items after its pages); on success it is the new <see cref="State"/>.</summary>
    private async Task<Exception?> WriteHead(ConversationState state)
    {
        var paged = state.Pages.Sum(page => page.Count) - state.Unloaded;
        if (await head.TryReplace(paged == 0 && state.Unloaded == 0 ? state : state with { Items = state.Items.GetRange(paged, state.Items.Count - paged), Unloaded = 0 }) is { } failure)
        {
            return failure;
        }

        State = state;
        return null;
    }

    /// <summary>Clears the records of unreferenced pages; what fails stays listed (in memory now, in storage with the next head write).</summary>
    private async Task<bool> ClearUnreferenced()
    {
        if (State.Unreferenced.Count == 0)
        {
            return true;
        }

        var left = new List<string>();
        foreach (var key in State.Unreferenced)
        {
            try
            {
                var record = new GrainState<ItemPageRecord>();
                await storage.ReadStateAsync(PageName(key), grain, record);
                if (record.RecordExists)
                {
                    await storage.ClearStateAsync(PageName(key), grain, record);
                }
            }
            catch (Exception exception)
            {
                LogClearFailed(exception, key, grain.ToString());
                left.Add(key);
            }
        }

        State = State with { Unreferenced = left };
        return left.Count == 0;
    }

    private async Task<List<ConversationItem>?> Read(ItemPageRef page)
    {
        var record = new GrainState<ItemPageRecord>();
        await storage.ReadStateAsync(PageName(page.Key), grain, record);
        return record is { RecordExists: true, State.Items: { } items } && items.Count == page.Count ? items : null;
    }

    internal static string PageName(string key) => "conversation-items-" + key;

    [LoggerMessage(Level = LogLevel.Critical, Message = "Conversation {Grain} is damaged: storage does not hold its item pages {Pages}; only a delete is served")]
    private partial void LogDamaged(GrainId grain, IReadOnlyList<string> pages);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Clearing the unreferenced item page {Page} of {Grain} failed; retrying after a later write")]
    private partial void LogClearFailed(Exception exception, string page, string grain);
}

/// <summary>A write's layout: the pages the head will reference, the new ones among them, and the ones it no longer does.</summary>
internal sealed record PagePlan(List<ItemPageRef> Pages, List<(ItemPageRef Page, List<ConversationItem> Items)> Writes, List<string> Dropped);
