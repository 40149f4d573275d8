using Orleans.Concurrency;

namespace Conversations;

/// <summary>
/// Stateless model calls (chat completions, responses without a conversation). A stateless worker,
/// so calls run on the silo that receives them, beside the providers and their keys.
/// </summary>
public interface IInferenceGrain : IGrainWithIntegerKey
{
    IAsyncEnumerable<CompletionChunk> Complete(CompletionRequest request, CancellationToken cancellationToken = default);

    /// <summary>The models this cluster serves, for <c>GET /v1/models</c>.</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<ModelDescription>> ListModels();
}

[GenerateSerializer, Immutable, Alias("conv.ModelDescription")]
public sealed record ModelDescription(
    [property: Id(0)] string Id,
    [property: Id(1)] string OwnedBy,
    [property: Id(2)] int ContextWindow);
