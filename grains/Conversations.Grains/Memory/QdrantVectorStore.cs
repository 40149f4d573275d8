using System.Security.Cryptography;
using System.Text;
using Conversations.Memory;
using Qdrant.Client;
using Qdrant.Client.Grpc;
using static Qdrant.Client.Grpc.Conditions;

namespace Conversations.Grains.Memory;

/// <summary>
/// The vector store on Qdrant: one collection for every tenant and scope, created on first use with
/// keyword indexes on <c>tenant</c>, <c>scope</c> and <c>source</c>; every search, scroll and delete
/// filters on the tenant and scope (isolation by an indexed payload field). Point ids are derived from
/// tenant, scope and record id, so an upsert of the same record replaces it.
/// </summary>
public sealed class QdrantVectorStore(QdrantClient client, string collection, int dimensions) : IVectorStore, IDisposable
{
    private readonly SemaphoreSlim _created = new(1, 1);
    private bool _ready;

    public async Task Upsert(string tenant, string scope, IReadOnlyList<VectorRecord> records)
    {
        await EnsureCollection();
        foreach (var batch in records.Chunk(256))
        {
            await client.UpsertAsync(collection, [.. batch.Select(r => new PointStruct
            {
                Id = PointIdOf(tenant, scope, r.Id),
                Vectors = r.Vector,
                Payload = { ["tenant"] = tenant, ["scope"] = scope, ["source"] = r.Source, ["record_id"] = r.Id, ["text"] = r.Text },
            })]);
        }
    }

    public async Task<IReadOnlyList<VectorMatch>> Search(string tenant, string scope, float[] vector, int top, float minScore)
    {
        await EnsureCollection();
        var points = await client.QueryAsync(collection, query: vector, filter: Scope(tenant, scope), scoreThreshold: minScore, limit: (ulong)top, payloadSelector: true);
        return [.. points.Select(p => new VectorMatch(p.Payload["record_id"].StringValue, p.Payload["source"].StringValue, p.Payload["text"].StringValue, p.Score))];
    }

    /// <summary>
    /// Dense only for now: Qdrant's sparse vectors (BM25-like, fused server-side) are not wired, so the text is not used and
    /// matches carry no vectors (recall then marks no statement as superseded). Decision 0065.
    /// </summary>
    public Task<IReadOnlyList<VectorMatch>> HybridSearch(string tenant, string scope, float[] vector, string? text, int top, float minScore) =>
        Search(tenant, scope, vector, top, minScore);

    public async Task<IReadOnlyList<string>> Sources(string tenant, string scope)
    {
        await EnsureCollection();
        var sources = new HashSet<string>(StringComparer.Ordinal);
        PointId? offset = null;
        do
        {
            var page = await client.ScrollAsync(collection, Scope(tenant, scope), limit: 1_000, offset: offset, payloadSelector: new WithPayloadSelector { Include = new PayloadIncludeSelector { Fields = { "source" } } });
            sources.UnionWith(page.Result.Select(p => p.Payload["source"].StringValue));
            offset = page.NextPageOffset;
        }
        while (offset is not null);

        return [.. sources];
    }

    public async Task DeleteSource(string tenant, string scope, string source)
    {
        await EnsureCollection();
        await client.DeleteAsync(collection, Scope(tenant, scope) & MatchKeyword("source", source));
    }

    public async Task Clear(string tenant, string scope)
    {
        await EnsureCollection();
        await client.DeleteAsync(collection, Scope(tenant, scope));
    }

    private static Filter Scope(string tenant, string scope) => MatchKeyword("tenant", tenant) & MatchKeyword("scope", scope);

    private static PointId PointIdOf(string tenant, string scope, string id) =>
        new Guid(SHA256.HashData(Encoding.UTF8.GetBytes($"{tenant}\n{scope}\n{id}"))[..16]);

    private async Task EnsureCollection()
    {
        if (_ready)
        {
            return;
        }

        await _created.WaitAsync();
        try
        {
            if (!_ready && !await client.CollectionExistsAsync(collection))
            {
                await client.CreateCollectionAsync(collection, new VectorParams { Size = (ulong)dimensions, Distance = Distance.Cosine });
                foreach (var field in new[] { "tenant", "scope", "source" })
                {
                    await client.CreatePayloadIndexAsync(collection, field, PayloadSchemaType.Keyword);
                }
            }

            _ready = true;
        }
        finally
        {
            _created.Release();
        }
    }

    public void Dispose() => _created.Dispose();
}
