using System.Collections.Concurrent;
using Microsoft.Extensions.AI;

namespace Conversations.Bench;

/// <summary>
/// The memory bench's embeddings: texts the indexer embeds ("user: …", "assistant: …") are encoded once per process and
/// reused, since a generated conversation repeats its filler turns and every strategy indexes the same conversations;
/// anything else (a question, embedded while the context is built) is encoded every time, so build times are not flattered.
/// </summary>
internal sealed class IndexingEmbeddingCache(IEmbeddingGenerator<string, Embedding<float>> inner) : DelegatingEmbeddingGenerator<string, Embedding<float>>(inner)
{
    private readonly ConcurrentDictionary<string, Embedding<float>> _indexed = new(StringComparer.Ordinal);

    public override async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var texts = values.ToArray();
        if (!texts.All(IsIndexed))
        {
            return await base.GenerateAsync(texts, options, cancellationToken);
        }

        var missing = texts.Where(t => !_indexed.ContainsKey(t)).Distinct(StringComparer.Ordinal).ToArray();
        if (missing.Length > 0)
        {
            var generated = await base.GenerateAsync(missing, options, cancellationToken);
            foreach (var (text, embedding) in missing.Zip(generated))
            {
                _indexed[text] = embedding;
            }
        }

        return new GeneratedEmbeddings<Embedding<float>>(texts.Select(t => _indexed[t]));
    }

    private static bool IsIndexed(string text) => text.StartsWith("user: ", StringComparison.Ordinal) || text.StartsWith("assistant: ", StringComparison.Ordinal);
}
