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
/// tenant, scope and record id, so an upsert of the same record replaces it. Each point holds its record's words as a sparse
/// vector beside the embedding, for hybrid search (<see cref="HybridSearch"/>).
/// </summary>
public sealed class QdrantVectorStore(QdrantClient client, string collection, int dimensions) : IVectorStore, IDisposable
{
    /// <summary>The sparse vector of a record's words (<see cref="SparseTerms"/>), beside the default (unnamed) dense one.</summary>
    public const string SparseName = "text";

    private const string DenseName = "";

    private readonly SemaphoreSlim _created = new(1, 1);
    private bool _ready;
    private bool _sparse;

    public async Task Upsert(string tenant, string scope, IReadOnlyList<VectorRecord> records)
    {
        await EnsureCollection();
        foreach (var batch in records.Chunk(256))
        {
            await client.UpsertAsync(collection, [.. batch.Select(r => new PointStruct
            {
                Id = PointIdOf(tenant, scope, r.Id),
                Vectors = _sparse && SparseTerms.Of(r.Text) is { Length: > 0 } terms
                    ? new Dictionary<string, Vector> { [DenseName] = r.Vector, [SparseName] = terms }
                    : r.Vector,
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
    /// The dense and the sparse (<see cref="SparseTerms"/>) rankings fused by Qdrant by reciprocal rank, as the embedded store
    /// fuses its own (decision 0065), the lexical side a third of the list; dense alone when the text has no words or the
    /// collection was created before it had sparse vectors. Matches carry their dense vectors, for supersession. Decision 0048.
    /// </summary>
    public async Task<IReadOnlyList<VectorMatch>> HybridSearch(string tenant, string scope, float[] vector, string? text, int top, float minScore)
    {
        await EnsureCollection();
        var terms = text is null || !_sparse ? [] : SparseTerms.Of(text);
        var filter = Scope(tenant, scope);
        var points = terms.Length == 0
            ? await client.QueryAsync(collection, query: vector, filter: filter, scoreThreshold: minScore, limit: (ulong)top, payloadSelector: true, vectorsSelector: true)
            : await client.QueryAsync(collection, query: Fusion.Rrf, prefetch:
                [
                    new PrefetchQuery { Query = vector, Filter = filter, ScoreThreshold = minScore, Limit = (ulong)top },
                    new PrefetchQuery { Query = terms, Using = SparseName, Filter = filter, Limit = (ulong)Math.Max(3, top / 3) },
                ], filter: filter, limit: (ulong)top, payloadSelector: true, vectorsSelector: true);
        return [.. points.Select(p => new VectorMatch(
            p.Payload["record_id"].StringValue, p.Payload["source"].StringValue, p.Payload["text"].StringValue, p.Score, DenseOf(p.Vectors)))];
    }

    /// <summary>A point's dense vector: the only one, or the default (unnamed) one beside the sparse.</summary>
    private static float[]? DenseOf(VectorsOutput? vectors) => vectors?.VectorsOptionsCase switch
    {
        VectorsOutput.VectorsOptionsOneofCase.Vector => vectors.Vector.GetDenseVector()?.Data.ToArray(),
        VectorsOutput.VectorsOptionsOneofCase.Vectors => vectors.Vectors.Vectors.TryGetValue(DenseName, out var dense) ? dense.GetDenseVector()?.Data.ToArray() : null,
        _ => null,
    };

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
            if (_ready)
            {
                return;
            }

            if (!await client.CollectionExistsAsync(collection))
            {
                await client.CreateCollectionAsync(collection, new VectorParams { Size = (ulong)dimensions, Distance = Distance.Cosine },
                    sparseVectorsConfig: (SparseName, new SparseVectorParams { Modifier = Modifier.Idf }));
                foreach (var field in new[] { "tenant", "scope", "source" })
                {
                    await client.CreatePayloadIndexAsync(collection, field, PayloadSchemaType.Keyword);
                }
            }

            // A collection created before sparse vectors keeps working, dense only.
            _sparse = (await client.GetCollectionInfoAsync(collection)).Config.Params.SparseVectorsConfig?.Map.ContainsKey(SparseName) == true;
            _ready = true;
        }
        finally
        {
            _created.Release();
        }
    }

    public void Dispose() => _created.Dispose();
}
