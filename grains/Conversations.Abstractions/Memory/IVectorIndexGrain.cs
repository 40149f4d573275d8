namespace Conversations.Memory;

/// <summary>
/// The embedded vector store: one index per <c>{tenant}/{scope}</c> (a conversation's recall memory,
/// or a knowledge base), persisted through the silo's grain storage, so it works in a cluster as
/// well as on one machine. Search is exact (cosine over normalized vectors): an index holds one
/// conversation's or one knowledge base's chunks, not a whole tenant's. Tenant isolation is the key
/// itself: a tenant's calls can only name its own indexes.
/// </summary>
public interface IVectorIndexGrain : IGrainWithStringKey
{
    /// <summary>Adds or replaces records by id.</summary>
    Task<GatewayError?> Upsert(IReadOnlyList<VectorRecord> records);

    [Orleans.Concurrency.AlwaysInterleave]
    Task<IReadOnlyList<VectorMatch>> Search(float[] vector, int top, float minScore);

    /// <summary>
    /// Hybrid search: the dense ranking (cosine, at least <paramref name="minScore"/>) fused with a BM25 ranking of
    /// <paramref name="text"/> over the records' texts (reciprocal rank fusion), best first; dense only when
    /// <paramref name="text"/> is null. Matches carry their vectors and their fused score.
    /// </summary>
    [Orleans.Concurrency.AlwaysInterleave]
    Task<IReadOnlyList<VectorMatch>> HybridSearch(float[] vector, string? text, int top, float minScore);

    /// <summary>The sources (item or document ids) the index holds.</summary>
    [Orleans.Concurrency.AlwaysInterleave]
    Task<IReadOnlyList<string>> Sources();

    Task<GatewayError?> DeleteSource(string source);

    /// <summary>Removes every record: the conversation or knowledge base is gone.</summary>
    Task<GatewayError?> Clear();
}

public static class VectorScopes
{
    public static string Conversation(string conversationId) => "conv:" + conversationId;
}

/// <summary>One embedded chunk: its vector, where it came from (an item or document id) and its text.</summary>
[GenerateSerializer, Immutable, Alias("conv.VectorRecord")]
public sealed record VectorRecord(
    [property: Id(0)] string Id,
    [property: Id(1)] float[] Vector,
    [property: Id(2)] string Source,
    [property: Id(3)] string Text);

[GenerateSerializer, Immutable, Alias("conv.VectorMatch")]
public sealed record VectorMatch(
    [property: Id(0)] string Id,
    [property: Id(1)] string Source,
    [property: Id(2)] string Text,
    [property: Id(3)] float Score,
    [property: Id(4)] float[]? Vector = null);
