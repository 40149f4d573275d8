using Conversations.Embeddings;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Conversations.Tests.Infrastructure;

/// <summary>
/// The local embedding model behind a gate a test controls, so that background ingestion stops where the test wants it:
/// while the gate is closed, a call that embeds several texts (a batch of a document's chunks, not a query) waits for a
/// pass (<see cref="Let"/>) or for the gate to open. The gate starts open. It counts the texts it embedded.
/// </summary>
public sealed class EmbeddingGate : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly LocalEmbeddingGenerator _model = new();
    private readonly Lock _lock = new();
    private readonly List<TaskCompletionSource> _waiting = [];
    private int _passes = int.MaxValue;
    private int _embedded;

    /// <summary>Installs the gate as the gateway's embedding generator.</summary>
    public Action<IServiceCollection> Install => services => services.AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(this);

    /// <summary>Batches waiting at the closed gate.</summary>
    public int Waiting
    {
        get
        {
            lock (_lock)
            {
                return _waiting.Count;
            }
        }
    }

    /// <summary>Texts embedded so far.</summary>
    public int Embedded => Volatile.Read(ref _embedded);

    public void Close()
    {
        lock (_lock)
        {
            _passes = 0;
        }
    }

    /// <summary>Lets <paramref name="batches"/> more batches through the closed gate.</summary>
    public void Let(int batches)
    {
        lock (_lock)
        {
            _passes = (int)Math.Min((long)_passes + batches, int.MaxValue);
            Release();
        }
    }

    public void Open() => Let(int.MaxValue);

    /// <summary>Fails the batches waiting at the gate, as if the process running them died.</summary>
    public void FailWaiting()
    {
        lock (_lock)
        {
            foreach (var waiter in _waiting)
            {
                waiter.TrySetException(new InvalidOperationException("The test failed this embedding batch."));
            }

            _waiting.Clear();
        }
    }

    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var texts = values.ToList();
        if (texts.Count > 1)
        {
            await Pass().WaitAsync(cancellationToken);
        }

        var embeddings = await _model.GenerateAsync(texts, options, cancellationToken);
        Interlocked.Add(ref _embedded, texts.Count);
        return embeddings;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => _model.GetService(serviceType, serviceKey);

    public void Dispose() => _model.Dispose();

    private Task Pass()
    {
        lock (_lock)
        {
            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting.Add(waiter);
            Release();
            return waiter.Task;
        }
    }

    private void Release()
    {
        while (_passes > 0 && _waiting.Count > 0)
        {
            _passes--;
            _waiting[0].TrySetResult();
            _waiting.RemoveAt(0);
        }
    }
}
