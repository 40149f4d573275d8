using Conversations.Memory;

namespace Conversations.Grains.Memory;

/// <summary>
/// Where embedded chunks live, per tenant and scope (a conversation's recall memory, <c>conv:{id}</c>,
/// or a knowledge base, <c>kb:{id}</c>). Two implementations pass the same contract tests: grains (the
/// embedded default, persisted through grain storage) and Qdrant. Every call names the tenant, and an
/// implementation must never return another tenant's records.
/// </summary>
public interface IVectorStore
{
    /// <summary>Adds or replaces records by id.</summary>
    Task Upsert(string tenant, string scope, IReadOnlyList<VectorRecord> records);

    /// <summary>The most similar records (cosine), best first, scoring at least <paramref name="minScore"/>.</summary>
    Task<IReadOnlyList<VectorMatch>> Search(string tenant, string scope, float[] vector, int top, float minScore);

    /// <summary>
    /// The most relevant records, best first: the dense ranking (cosine, at least <paramref name="minScore"/>) fused with a
    /// lexical (BM25) ranking of <paramref name="text"/> by reciprocal rank fusion, or dense only when <paramref name="text"/>
    /// is null. Matches carry their vectors (to tell statements of the same fact apart) and their fused score.
    /// </summary>
    Task<IReadOnlyList<VectorMatch>> HybridSearch(string tenant, string scope, float[] vector, string? text, int top, float minScore);

    /// <summary>The distinct sources (item or document ids) the scope holds.</summary>
    Task<IReadOnlyList<string>> Sources(string tenant, string scope);

    Task DeleteSource(string tenant, string scope, string source);

    /// <summary>Removes every record of the scope.</summary>
    Task Clear(string tenant, string scope);
}

/// <summary>
/// The embedded default: one <see cref="IVectorIndexGrain"/> per <c>{tenant}/{scope}</c>. An index that could not
/// store a change (it logged why) fails the call with an exception, as every store's client does.
/// </summary>
public sealed class GrainVectorStore(IGrainFactory grains) : IVectorStore
{
    public async Task Upsert(string tenant, string scope, IReadOnlyList<VectorRecord> records) => Stored(await Index(tenant, scope).Upsert(records));

    public Task<IReadOnlyList<VectorMatch>> Search(string tenant, string scope, float[] vector, int top, float minScore) =>
        Index(tenant, scope).Search(vector, top, minScore);

    public Task<IReadOnlyList<VectorMatch>> HybridSearch(string tenant, string scope, float[] vector, string? text, int top, float minScore) =>
        Index(tenant, scope).HybridSearch(vector, text, top, minScore);

    public Task<IReadOnlyList<string>> Sources(string tenant, string scope) => Index(tenant, scope).Sources();

    public async Task DeleteSource(string tenant, string scope, string source) => Stored(await Index(tenant, scope).DeleteSource(source));

    public async Task Clear(string tenant, string scope) => Stored(await Index(tenant, scope).Clear());

    private IVectorIndexGrain Index(string tenant, string scope) => grains.GetGrain<IVectorIndexGrain>(GrainKeys.For(tenant, scope));

    private static void Stored(GatewayError? failed)
    {
        if (failed is not null)
        {
            throw new IOException(failed.Message);
        }
    }
}

/// <summary>One tenant's scope of a <see cref="IVectorStore"/>.</summary>
public sealed record ScopedVectors(IVectorStore Store, string Tenant, string Scope)
{
    public Task Upsert(IReadOnlyList<VectorRecord> records) => Store.Upsert(Tenant, Scope, records);

    public Task<IReadOnlyList<VectorMatch>> Search(float[] vector, int top, float minScore) => Store.Search(Tenant, Scope, vector, top, minScore);

    public Task<IReadOnlyList<VectorMatch>> HybridSearch(float[] vector, string? text, int top, float minScore) =>
        Store.HybridSearch(Tenant, Scope, vector, text, top, minScore);

    public Task<IReadOnlyList<string>> Sources() => Store.Sources(Tenant, Scope);

    public Task DeleteSource(string source) => Store.DeleteSource(Tenant, Scope, source);

    public Task Clear() => Store.Clear(Tenant, Scope);
}

public static class VectorStoreExtensions
{
    public static ScopedVectors For(this IVectorStore store, string tenant, string scope) => new(store, tenant, scope);
}
