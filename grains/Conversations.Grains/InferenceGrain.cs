using System.Runtime.CompilerServices;
using Orleans.Concurrency;

namespace Conversations.Grains;

/// <summary>Stateless model calls on one inference lane; see <see cref="IInferenceGrain"/>.</summary>
[Reentrant]
public sealed class InferenceGrain(ChatPipeline pipeline, Routing.EmbeddingPipeline embeddings) : Grain, IInferenceGrain
{
    public async IAsyncEnumerable<CompletionChunk> Complete(CompletionRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var chunk in pipeline.Run(request, cancellationToken))
        {
            yield return chunk;
        }
    }

    public Task<EmbeddingOutcome> Embed(EmbeddingRequest request) => embeddings.Run(request);
}
