using Conversations.Providers;

namespace Conversations.Grains.Memory;

/// <summary>
/// Splits a document into chunks of at most <see cref="ChunkTokens"/> tokens (counted with the
/// tokenizer), each starting <see cref="OverlapTokens"/> tokens before the previous one ended, so a
/// sentence cut at a boundary is whole in one of the two chunks. A chunk prefers to end at a
/// paragraph or line break (Markdown headings and lists stay with their text) when one falls in its
/// last quarter.
/// </summary>
public sealed class Chunker(TokenCounter tokens)
{
    /// <summary>Below MiniLM's 256 word pieces, so no chunk's tail goes unembedded.</summary>
    public const int ChunkTokens = 150;
    public const int OverlapTokens = 30;

    public IReadOnlyList<string> Split(string text)
    {
        var pieces = tokens.Split(text).ToList();
        var chunks = new List<string>();
        var start = 0;
        while (start < pieces.Count)
        {
            var end = Math.Min(start + ChunkTokens, pieces.Count);
            if (end < pieces.Count)
            {
                // Prefer a break at a blank line, else a line end, in the chunk's last quarter.
                var floor = start + (ChunkTokens * 3 / 4);
                var paragraph = LastIndex(pieces, floor, end, p => p.Contains("\n\n", StringComparison.Ordinal));
                var line = LastIndex(pieces, floor, end, p => p.Contains('\n', StringComparison.Ordinal));
                end = paragraph > 0 ? paragraph : line > 0 ? line : end;
            }

            var chunk = string.Concat(pieces.Skip(start).Take(end - start)).Trim();
            if (chunk.Length > 0)
            {
                chunks.Add(chunk);
            }

            if (end >= pieces.Count)
            {
                break;
            }

            start = Math.Max(end - OverlapTokens, start + 1);
        }

        return chunks;
    }

    /// <summary>The index after the last piece in [from, to) that matches, or 0.</summary>
    private static int LastIndex(List<string> pieces, int from, int to, Func<string, bool> matches)
    {
        for (var i = to - 1; i >= from; i--)
        {
            if (matches(pieces[i]))
            {
                return i + 1;
            }
        }

        return 0;
    }
}
