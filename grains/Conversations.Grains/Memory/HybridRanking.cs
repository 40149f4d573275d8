namespace Conversations.Grains.Memory;

/// <summary>
/// Reciprocal rank fusion (Cormack, Clarke and Büttcher, 2009) of a dense (embedding) ranking and a lexical (BM25)
/// one: a record's fused score is the sum of 1 / (<see cref="K"/> + rank) over the rankings it appears in, so a
/// record both find comes first, and an exact-token match that the embeddings rank low still gets in. Ranks, not
/// scores, are fused: cosine similarities and BM25 scores are on scales that do not compare.
/// </summary>
public static class HybridRanking
{
    /// <summary>The usual constant: it damps the difference between the first few ranks.</summary>
    public const int K = 60;

    /// <summary>The ids of both rankings (each best first), best fused score first, with that score.</summary>
    public static IReadOnlyList<(string Id, double Score)> Fuse(IReadOnlyList<string> dense, IReadOnlyList<string> lexical, int top)
    {
        var fused = new Dictionary<string, double>(StringComparer.Ordinal);
        for (var rank = 0; rank < dense.Count; rank++)
        {
            fused[dense[rank]] = fused.GetValueOrDefault(dense[rank]) + (1.0 / (K + rank + 1));
        }

        for (var rank = 0; rank < lexical.Count; rank++)
        {
            fused[lexical[rank]] = fused.GetValueOrDefault(lexical[rank]) + (1.0 / (K + rank + 1));
        }

        // Ties (one record first in one ranking, another first in the other) go to the dense ranking's order.
        var denseRank = dense.Select((id, rank) => (id, rank)).ToDictionary(p => p.id, p => p.rank, StringComparer.Ordinal);
        return [.. fused.OrderByDescending(f => f.Value).ThenBy(f => denseRank.GetValueOrDefault(f.Key, int.MaxValue)).Take(top).Select(f => (f.Key, f.Value))];
    }
}
