namespace Conversations.Indexing;

/// <summary>
/// The pure rules of the conversation index (decision 0069): which shard holds a conversation, the newest-first order,
/// what a search matches, and a page merged from every shard's page.
/// </summary>
public static class ConversationIndex
{
    /// <summary>Shards per tenant: a write rewrites one shard's state, so a shard holds about a sixteenth of the tenant's conversations.</summary>
    public const int Shards = 16;

    /// <summary>Newest first; ids break ties so that a cursor is exact.</summary>
    public static readonly Comparer<ConversationEntry> NewestFirst = Comparer<ConversationEntry>.Create((a, b) =>
        b.CreatedAt.CompareTo(a.CreatedAt) is var byTime and not 0 ? byTime : string.CompareOrdinal(b.Id, a.Id));

    public static string Key(string tenant, int shard) => GrainKeys.For(tenant, shard.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>FNV-1a over the id's characters: stable across processes and versions, unlike <see cref="string.GetHashCode()"/>.</summary>
    public static int Shard(string conversationId)
    {
        var hash = 2166136261u;
        foreach (var c in conversationId)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)(hash % Shards);
    }

    /// <summary>
    /// A search matches an id prefix or a title prefix (case-insensitive), or, written <c>key=value</c>, a metadata key whose
    /// value starts with the value; no search matches everything.
    /// </summary>
    public static bool Matches(ConversationEntry entry, string? search)
    {
        if (string.IsNullOrWhiteSpace(search))
        {
            return true;
        }

        search = search.Trim();
        var equals = search.IndexOf('=', StringComparison.Ordinal);
        if (equals > 0)
        {
            return entry.Metadata.TryGetValue(search[..equals].Trim(), out var value)
                && value.StartsWith(search[(equals + 1)..].Trim(), StringComparison.OrdinalIgnoreCase);
        }

        return entry.Id.StartsWith(search, StringComparison.Ordinal)
            || entry.Title?.StartsWith(search, StringComparison.OrdinalIgnoreCase) == true;
    }

    /// <summary>One shard's page: its entries (newest first) after the cursor that match, at most the query's limit.</summary>
    public static List<ConversationEntry> Page(List<ConversationEntry> newestFirst, ConversationIndexQuery query)
    {
        var start = 0;
        if (query.AfterCreatedAt is { } at)
        {
            var cursor = new ConversationEntry(query.AfterId ?? string.Empty, at, new Dictionary<string, string>());
            start = newestFirst.BinarySearch(cursor, NewestFirst);
            start = start >= 0 ? start + 1 : ~start;
        }

        var page = new List<ConversationEntry>(Math.Min(query.Limit, 64));
        for (var i = start; i < newestFirst.Count && page.Count < query.Limit; i++)
        {
            if (Matches(newestFirst[i], query.Search))
            {
                page.Add(newestFirst[i]);
            }
        }

        return page;
    }

    /// <summary>The first <paramref name="limit"/> of every shard's page, newest first; more when any entry is left over.</summary>
    public static ConversationIndexPage Merge(IEnumerable<IReadOnlyList<ConversationEntry>> pages, int limit)
    {
        var all = pages.SelectMany(page => page).Order(NewestFirst).ToList();
        return new ConversationIndexPage([.. all.Take(limit)], all.Count > limit);
    }

    /// <summary>A page of a tenant's conversations: the same query to every shard at once, merged.</summary>
    public static async Task<ConversationIndexPage> List(IGrainFactory grains, string tenant, ConversationIndexQuery query)
    {
        query = query with { Limit = Math.Clamp(query.Limit, 1, ConversationIndexQuery.MaxLimit) };
        var pages = await Task.WhenAll(Enumerable.Range(0, Shards)
            .Select(shard => grains.GetGrain<IConversationIndexGrain>(Key(tenant, shard)).Page(query)));
        return Merge(pages, query.Limit);
    }

    public static IConversationIndexGrain ShardOf(IGrainFactory grains, string tenant, string conversationId) =>
        grains.GetGrain<IConversationIndexGrain>(Key(tenant, Shard(conversationId)));
}
