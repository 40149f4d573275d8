namespace Conversations.Api.Endpoints;

/// <summary>Stateless calls from an API process that is only an Orleans client: each goes to an inference lane grain.</summary>
internal sealed class LaneInference(IGrainFactory grains) : IStatelessInference
{
    public IAsyncEnumerable<CompletionChunk> Complete(CompletionRequest request, CancellationToken cancellationToken = default) =>
        Lane().Complete(request, cancellationToken);

    public Task<EmbeddingOutcome> Embed(EmbeddingRequest request) => Lane().Embed(request);

    public Task<IReadOnlyList<Memory.VectorMatch>> Search(string tenant, IReadOnlyList<string> scopes, string query, int top) =>
        Lane().Search(tenant, scopes, query, top);

    public Task<Result<int>> CountInputTokens(CompletionRequest request, CancellationToken cancellationToken = default) =>
        Lane().CountInputTokens(request, cancellationToken);

    public Task<CompletionChunk> Compact(CompletionRequest request, CancellationToken cancellationToken = default) =>
        Lane().Compact(request, cancellationToken);

    private IInferenceGrain Lane() => grains.GetGrain<IInferenceGrain>(InferenceLanes.Pick());
}
