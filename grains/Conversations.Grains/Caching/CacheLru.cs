using Conversations.Caching;

namespace Conversations.Grains.Caching;

/// <summary>A tenant's cached answers, least recently used first, with their total size: the directory grain's pure core.</summary>
public sealed class CacheLru
{
    private readonly LinkedList<(string Hash, CacheEntryInfo Info)> _order = new();
    private readonly Dictionary<string, LinkedListNode<(string Hash, CacheEntryInfo Info)>> _nodes = new(StringComparer.Ordinal);

    public int Count => _nodes.Count;

    public long Bytes { get; private set; }

    /// <summary>Adds or replaces an entry as the most recently used.</summary>
    public void Add(string hash, CacheEntryInfo info)
    {
        Remove(hash);
        _nodes[hash] = _order.AddLast((hash, info));
        Bytes += info.Bytes;
    }

    public void Touch(string hash)
    {
        if (_nodes.TryGetValue(hash, out var node) && node != _order.Last)
        {
            _order.Remove(node);
            _order.AddLast(node);
        }
    }

    /// <summary>Past a bound: removes and returns the expired entries, then the least recently used until both bounds hold.</summary>
    public List<(string Hash, CacheEntryInfo Info)> OverBound(int maxEntries, long maxBytes, DateTimeOffset now)
    {
        if (Count <= maxEntries && Bytes <= maxBytes)
        {
            return [];
        }

        var removed = Remove(entry => entry.Info.ExpiresAt <= now);
        while (_order.First is { } oldest && (Count > maxEntries || Bytes > maxBytes))
        {
            Remove(oldest.Value.Hash);
            removed.Add(oldest.Value);
        }

        return removed;
    }

    /// <summary>Removes and returns the entries that match.</summary>
    public List<(string Hash, CacheEntryInfo Info)> Remove(Func<(string Hash, CacheEntryInfo Info), bool> match)
    {
        var removed = _order.Where(match).ToList();
        foreach (var (hash, _) in removed)
        {
            Remove(hash);
        }

        return removed;
    }

    private void Remove(string hash)
    {
        if (_nodes.Remove(hash, out var node))
        {
            _order.Remove(node);
            Bytes -= node.Value.Info.Bytes;
        }
    }
}
