using System.Numerics.Tensors;
using Conversations.Context;

namespace Conversations.Grains.Memory;

/// <summary>
/// Statements of the same fact at different times ("I live in Tromsø" at turn 10, "I live in Bergen now" at turn 90):
/// among the items a turn recalls, two whose embeddings are at least <see cref="Similarity"/> alike are taken as two
/// statements of one fact, and the later supersedes the earlier. A question ("where do I live?") neither supersedes nor is superseded.
/// Without a model this cannot tell a change from a repetition; a repetition marked superseded still says the same.
/// </summary>
public static class Supersession
{
    /// <summary>Cosine similarity from which two recalled items count as statements of one fact (tuned with <c>bench -- memory</c>).</summary>
    public const float Similarity = 0.8f;

    /// <summary>Each superseded item's id, with the id of the latest item that supersedes it.</summary>
    public static Dictionary<string, string> Find(IReadOnlyList<Recollection> recalled, float similarity = Similarity)
    {
        var ordered = recalled.Where(r => r.Vector is not null && !IsQuestion(r.Item)).OrderBy(r => r.Position).ToList();
        var superseded = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var older = 0; older < ordered.Count; older++)
        {
            for (var newer = ordered.Count - 1; newer > older; newer--)
            {
                if (TensorPrimitives.CosineSimilarity(ordered[older].Vector, ordered[newer].Vector) >= similarity)
                {
                    superseded[ordered[older].Item.Id] = ordered[newer].Item.Id;
                    break;
                }
            }
        }

        return superseded;
    }

    /// <summary>
    /// The recalled items (best first) with each repeated message (the same speaker saying the same words) recalled once, at its
    /// latest saying, in the place of its best match: a repetition says nothing new, and would take the place of items that do.
    /// </summary>
    public static List<Recollection> FoldRepeats(IReadOnlyList<Recollection> recalled)
    {
        var latest = recalled.GroupBy(Said).ToDictionary(g => g.Key, g => g.MaxBy(r => r.Position)!);
        return [.. recalled.Select(r => latest[Said(r)]).Distinct<Recollection>(ReferenceEqualityComparer.Instance)];

        static (string, string) Said(Recollection r) => (r.Item.Role, r.Item.Text.Trim());
    }

    private static bool IsQuestion(ConversationItem item) => item.Text.TrimEnd().EndsWith('?');
}

/// <summary>A recalled item, where it stands in the conversation (0 is the first item), and its embedding when the store returns it.</summary>
public sealed record Recollection(ConversationItem Item, int Position, float[]? Vector);
