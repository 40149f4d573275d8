using System.Runtime.CompilerServices;
using Conversations.Context;
using Conversations.Grains.Context;
using Conversations.Grains.Memory;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace Conversations.Grains;

/// <summary>Stateless model calls on one inference lane; see <see cref="IInferenceGrain"/>.</summary>
[Reentrant]
public sealed partial class InferenceGrain(
    ChatPipeline pipeline, Routing.EmbeddingPipeline embeddings, IVectorStore vectors,
    IEmbeddingGenerator<string, Embedding<float>> embedder, ContextBuilder builder, ILogger<InferenceGrain> logger) : Grain, IInferenceGrain
{
    public async IAsyncEnumerable<CompletionChunk> Complete(CompletionRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        IReadOnlyList<string> cited = [];
        if (request.Knowledge?.Over(request.Caller?.TenantContextPolicy).Over(ContextPolicy.Default) is { Retrieves: true } policy && request.Caller is not null)
        {
            // Grounded in the tenant's knowledge bases: retrieved before the call, cited in its result. A failure finds nothing.
            try
            {
                (var messages, cited) = await KnowledgeRetrieval.Ground(request, policy, vectors, embedder, builder, cancellationToken);
                request = request with { Messages = messages };
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                LogRetrievalFailed(exception);
            }
        }

        await foreach (var chunk in pipeline.Run(request, cancellationToken))
        {
            yield return chunk.Final is { } final && cited.Count > 0 ? chunk with { Final = final with { Citations = cited } } : chunk;
        }
    }

    public Task<EmbeddingOutcome> Embed(EmbeddingRequest request) => embeddings.Run(request);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retrieval for a stateless call failed; the call goes on without it")]
    private partial void LogRetrievalFailed(Exception exception);
}
