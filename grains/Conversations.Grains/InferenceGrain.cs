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

    public Task<IReadOnlyList<VectorMatch>> Search(string tenant, IReadOnlyList<string> scopes, string query, int top) =>
        inference.Search(tenant, scopes, query, top);

    public Task<Result<int>> CountInputTokens(CompletionRequest request, CancellationToken cancellationToken = default) =>
        inference.CountInputTokens(request, cancellationToken);

    public Task<CompletionChunk> Compact(CompletionRequest request, CancellationToken cancellationToken = default) =>
        inference.Compact(request, cancellationToken);
}
