using System.Runtime.CompilerServices;
using Conversations.Context;
using Conversations.Grains.Context;
using Conversations.Grains.Memory;
using Conversations.Memory;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains;

/// <summary>
/// Stateless model calls (chat completions, responses without a conversation, embeddings), run in this
/// silo: a response may first be grounded in the tenant's knowledge bases, then it takes the call
/// pipeline. Used directly by an API hosted in the silo, and by inference lanes for API-only processes.
/// </summary>
public sealed partial class StatelessInference(
    Pipeline.CallPipeline pipeline, Routing.EmbeddingPipeline embeddings, IVectorStore vectors,
    IEmbeddingGenerator<string, Embedding<float>> embedder, ContextBuilder builder, ILogger<StatelessInference> logger) : IStatelessInference
{
    public async IAsyncEnumerable<CompletionChunk> Complete(CompletionRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        IReadOnlyList<string> cited = [];
        if (request.Knowledge?.Over(request.Caller?.TenantContextPolicy).Over(ContextPolicy.Default) is { Retrieves: true } policy
            && request.Caller is { } caller && caller.MayUseModel(request.Model))
        {
            // Grounded in the tenant's knowledge bases: retrieved before the call, cited in its result. A failure finds nothing.
            try
            {
                (var messages, cited) = await KnowledgeRetrieval.Ground(request, policy, vectors, embedder, builder, cancellationToken);
                request = request with { Messages = messages };
            }
            catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
            {
                LogRetrievalFailed(exception);
            }
        }

        await foreach (var chunk in pipeline.Run(request, cancellationToken))
        {
            yield return cited.Count > 0 && chunk is FinalChunk ? chunk.With(info => info with { Citations = cited }) : chunk;
        }
    }

    public Task<EmbeddingOutcome> Embed(EmbeddingRequest request) => embeddings.Run(request);

    public Task<int> CountTokens(CompletionRequest request) => Task.FromResult(Providers.TokenCounter.Shared.CountPrompt(request.PromptTexts));

    public async Task<IReadOnlyList<VectorMatch>> Search(string tenant, IReadOnlyList<string> scopes, string query, int top)
    {
        var vector = (await embedder.GenerateAsync([query]))[0].Vector.ToArray();
        var found = await Task.WhenAll(scopes.Select(scope => vectors.Search(tenant, scope, vector, top, 0)));
        return [.. found.SelectMany(m => m).OrderByDescending(m => m.Score).Take(top)];
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retrieval for a stateless call failed; the call goes on without it")]
    private partial void LogRetrievalFailed(Exception exception);
}
