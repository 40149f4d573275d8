namespace Conversations;

/// <summary>
/// Stateless model calls (chat completions, responses without a conversation). Keyed by a lane number
/// (<see cref="InferenceLanes"/>) rather than a stateless worker: a streamed call's follow-up requests
/// must reach the activation that holds its enumerator, which a stateless worker does not guarantee.
/// Reentrant, so one lane streams many calls at once.
/// </summary>
public interface IInferenceGrain : IGrainWithStringKey
{
    IAsyncEnumerable<CompletionChunk> Complete(CompletionRequest request, CancellationToken cancellationToken = default);

    Task<EmbeddingOutcome> Embed(EmbeddingRequest request);

    /// <summary>
    /// The records of <paramref name="tenant"/>'s vector <paramref name="scopes"/> (knowledge bases, a conversation's items)
    /// most similar to <paramref name="query"/>, embedded once with the local model, best first.
    /// </summary>
    Task<IReadOnlyList<Memory.VectorMatch>> Search(string tenant, IReadOnlyList<string> scopes, string query, int top);

    /// <summary>The prompt tokens <paramref name="request"/> would send, as <see cref="IStatelessInference.CountInputTokens"/>.</summary>
    Task<Result<int>> CountInputTokens(CompletionRequest request, CancellationToken cancellationToken = default);

    /// <summary>A summary of the request's messages, as <see cref="IStatelessInference.Compact"/>.</summary>
    Task<CompletionChunk> Compact(CompletionRequest request, CancellationToken cancellationToken = default);
}

/// <summary>
/// Where the API sends stateless calls. In a silo (the embedded default, or an API co-hosted with each
/// silo) they run in the process that took the HTTP request: no grain hop, no cross-silo hop, and load is
/// spread by whatever spreads the HTTP requests. An API process that is only an Orleans client sends them
/// to an inference lane (<see cref="IInferenceGrain"/>).
/// </summary>
public interface IStatelessInference
{
    IAsyncEnumerable<CompletionChunk> Complete(CompletionRequest request, CancellationToken cancellationToken = default);

    Task<EmbeddingOutcome> Embed(EmbeddingRequest request);

    /// <summary>
    /// The records of <paramref name="tenant"/>'s vector <paramref name="scopes"/> (knowledge bases, a conversation's items)
    /// most similar to <paramref name="query"/>, embedded once with the local model, best first.
    /// </summary>
    Task<IReadOnlyList<Memory.VectorMatch>> Search(string tenant, IReadOnlyList<string> scopes, string query, int top);

    /// <summary>
    /// The prompt tokens <paramref name="request"/> would send (grounding in knowledge bases and tools included), counted as
    /// admission counts them, without calling the model; 404 for a model the caller cannot use.
    /// </summary>
    Task<Result<int>> CountInputTokens(CompletionRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// <c>POST /v1/responses/compact</c>: the request's messages summarized by its model with the prompt of a conversation's
    /// rolling summary (admitted and routed as any call); the last chunk, final or error.
    /// </summary>
    Task<CompletionChunk> Compact(CompletionRequest request, CancellationToken cancellationToken = default);
}

/// <summary>Spreads stateless calls over a fixed set of inference grains, which the cluster places across silos.</summary>
public static class InferenceLanes
{
    public const int Count = 32;

    public static string Pick() => Random.Shared.Next(Count).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
