namespace Conversations.Grains.Memory;

/// <summary>
/// Okapi BM25 over a scope's record texts, kept in memory and updated record by record, so that a question's exact
/// tokens (numbers, codes, names) find the records that hold them, which a small embedding model blurs. Words are
/// runs of letters or digits, lower-cased, less a short list of English stop words, plurals stemmed (<see cref="Stem"/>).
/// Hand-rolled rather than Lucene.Net: decisions 0065 and 0047.
/// </summary>
public sealed class LexicalIndex
{
    private const double K1 = 1.2;
    private const double B = 0.75;

    private readonly Dictionary<string, Dictionary<string, int>> _postings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string[]> _documents = new(StringComparer.Ordinal);
    private long _totalLength;

    public int Count => _documents.Count;

    /// <summary>Adds a record, or replaces the text of one already held.</summary>
    public void Add(string id, string text)
    {
        Remove(id);
        var words = Words(text);
        _documents[id] = words;
        _totalLength += words.Length;
        foreach (var word in words)
        {
            if (!_postings.TryGetValue(word, out var postings))
            {
                _postings[word] = postings = new(StringComparer.Ordinal);
            }

            postings[id] = postings.GetValueOrDefault(id) + 1;
        }
    }

    public void Remove(string id)
    {
        if (!_documents.Remove(id, out var words))
        {
            return;
        }

        _totalLength -= words.Length;
        foreach (var word in words.Distinct(StringComparer.Ordinal))
        {
            var postings = _postings[word];
            postings.Remove(id);
            if (postings.Count == 0)
            {
                _postings.Remove(word);
            }
        }
    }

    /// <summary>
    /// The records sharing at least one distinctive word with <paramref name="query"/>, best BM25 score first, at most
    /// <paramref name="top"/>. A word is distinctive when at most one record in a hundred (or two) holds it, as numbers, codes
    /// and names are: a question's common words ("what", "garden", "called") alone would otherwise match, and crowd out the
    /// embeddings' better matches in the fusion (tuned with <c>bench -- memory</c>).
    /// </summary>
    public IReadOnlyList<(string Id, double Score)> Search(string query, int top)
    {
        if (_documents.Count == 0 || top <= 0)
        {
            return [];
        }

        var n = _documents.Count;
        var averageLength = Math.Max(1.0, _totalLength / (double)n);
        var distinctive = Math.Max(2, n / 100);
        var scores = new Dictionary<string, (double Score, bool Distinctive)>(StringComparer.Ordinal);
        foreach (var word in Words(query).Distinct(StringComparer.Ordinal))
        {
            if (!_postings.TryGetValue(word, out var postings))
            {
                continue;
            }

            var idf = Math.Log(1 + ((n - postings.Count + 0.5) / (postings.Count + 0.5)));
            foreach (var (id, frequency) in postings)
            {
                var length = _documents[id].Length;
                var score = idf * frequency * (K1 + 1) / (frequency + (K1 * (1 - B + (B * length / averageLength))));
                var (sum, isDistinctive) = scores.GetValueOrDefault(id);
                scores[id] = (sum + score, isDistinctive || postings.Count <= distinctive);
            }
        }

        return [.. scores.Where(s => s.Value.Distinctive).OrderByDescending(s => s.Value.Score).ThenBy(s => s.Key, StringComparer.Ordinal)
            .Take(top).Select(s => (s.Key, s.Value.Score))];
    }

    /// <summary>The words BM25 counts in a text.</summary>
    public static string[] Words(string text)
    {
        var words = new List<string>();
        var span = text.AsSpan();
        var start = -1;
        for (var i = 0; i <= span.Length; i++)
        {
            var inWord = i < span.Length && char.IsLetterOrDigit(span[i]);
            if (inWord && start < 0)
            {
                start = i;
            }
            else if (!inWord && start >= 0)
            {
                var word = span[start..i].ToString().ToLowerInvariant();
                if (!StopWords.Contains(word))
                {
                    words.Add(Stem(word));
                }

                start = -1;
            }
        }

        return [.. words];
    }

    /// <summary>
    /// Harman's "S" stemmer (1991), the plural-only stemming Lucene calls English minimal: "lockers" and "locker", "cities" and
    /// "city" count as one word. Words of three letters or fewer, and words holding a digit (codes, numbers), are left as they are.
    /// </summary>
    public static string Stem(string word)
    {
        if (word.Length <= 3 || word[^1] != 's' || word.Any(char.IsDigit))
        {
            return word;
        }

        if (word.EndsWith("ies", StringComparison.Ordinal) && !word.EndsWith("eies", StringComparison.Ordinal) && !word.EndsWith("aies", StringComparison.Ordinal))
        {
            return word[..^3] + "y";
        }

        if (word.EndsWith("es", StringComparison.Ordinal) && !word.EndsWith("aes", StringComparison.Ordinal) && !word.EndsWith("ees", StringComparison.Ordinal)
            && !word.EndsWith("oes", StringComparison.Ordinal))
        {
            return word[..^1];
        }

        return word.EndsWith("us", StringComparison.Ordinal) || word.EndsWith("ss", StringComparison.Ordinal) ? word : word[..^1];
    }

    private static readonly HashSet<string> StopWords = new(
    [
        "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "did", "do", "does", "for", "from", "had", "has",
        "have", "he", "her", "his", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "of", "on", "or", "our", "she", "so",
        "that", "the", "their", "them", "then", "there", "they", "this", "to", "was", "we", "were", "what", "when", "where", "which",
        "who", "why", "will", "with", "would", "you", "your", "s", "t", "m", "d", "ll", "re", "ve",
    ], StringComparer.Ordinal);
}
