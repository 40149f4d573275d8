using Orleans.Concurrency;
using Conversations.Memory;

namespace Conversations.Grains;

/// <summary>Stateless model calls on one inference lane, for API processes that are not silos; see <see cref="IInferenceGrain"/>.</summary>
[Reentrant]
public sealed class InferenceGrain(StatelessInference inference) : Grain, IInferenceGrain
{
    public IAsyncEnumerable<CompletionChunk> Complete(CompletionRequest request, CancellationToken cancellationToken = default) =>
        inference.Complete(request, cancellationToken);

    public Task<EmbeddingOutcome> Embed(EmbeddingRequest request) => inference.Embed(request);

    public Task<int> CountTokens(CompletionRequest request) => inference.CountTokens(request);

    public Task<IReadOnlyList<VectorMatch>> Search(string tenant, IReadOnlyList<string> scopes, string query, int top) =>
        inference.Search(tenant, scopes, query, top);
}
