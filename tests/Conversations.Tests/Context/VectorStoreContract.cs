using Conversations.Grains.Memory;
using Conversations.Memory;
using Conversations.Tests.Infrastructure;
using Qdrant.Client;

namespace Conversations.Tests.Context;

/// <summary>
/// What every vector store must do, run against each implementation: best matches first above a
/// threshold, upserts replace by id, tenants never see each other's records, deletes remove
/// exactly what they name, and a hybrid search finds an exact token the vectors miss.
/// </summary>
public abstract class VectorStoreContract
{
    private const int Dimensions = 384;

    protected abstract IVectorStore Store { get; }

    [Fact]
    public async Task Search_returns_the_best_matches_first_above_the_threshold()
    {
        var (tenant, scope) = Fresh();
        await Store.Upsert(tenant, scope, [Record("near", "doc-1", Axis(0, 1f, 0.1f)), Record("far", "doc-1", Axis(1)), Record("nearest", "doc-2", Axis(0))]);

        var matches = await Store.Search(tenant, scope, Axis(0), top: 2, minScore: 0.5f);

        Assert.Equal(["nearest", "near"], matches.Select(m => m.Id));
        Assert.Equal("doc-2", matches[0].Source);
        Assert.Equal("text of nearest", matches[0].Text);
        Assert.True(matches[0].Score > matches[1].Score);
    }

    [Fact]
    public async Task An_upsert_of_the_same_id_replaces_the_record()
    {
        var (tenant, scope) = Fresh();
        await Store.Upsert(tenant, scope, [Record("a", "doc-1", Axis(0))]);

        await Store.Upsert(tenant, scope, [Record("a", "doc-2", Axis(1))]);

        var matches = await Store.Search(tenant, scope, Axis(1), top: 10, minScore: -1);
        Assert.Equal("doc-2", Assert.Single(matches).Source);
    }

    [Fact]
    public async Task A_tenant_never_sees_another_tenants_records_even_in_a_scope_of_the_same_name()
    {
        var (tenant, scope) = Fresh();
        await Store.Upsert(tenant, scope, [Record("secret", "doc-1", Axis(0))]);

        var other = await Store.Search("other-" + tenant, scope, Axis(0), top: 10, minScore: -1);
        var otherSources = await Store.Sources("other-" + tenant, scope);

        Assert.Empty(other);
        Assert.Empty(otherSources);
    }

    [Fact]
    public async Task Deleting_a_source_or_clearing_a_scope_removes_exactly_that()
    {
        var (tenant, scope) = Fresh();
        await Store.Upsert(tenant, scope, [Record("a1", "doc-a", Axis(0)), Record("a2", "doc-a", Axis(1)), Record("b1", "doc-b", Axis(2))]);
        await Store.Upsert(tenant, scope + "-kept", [Record("c1", "doc-c", Axis(0))]);

        await Store.DeleteSource(tenant, scope, "doc-a");
        var afterDelete = await Store.Sources(tenant, scope);
        await Store.Clear(tenant, scope);

        Assert.Equal(["doc-b"], afterDelete);
        Assert.Empty(await Store.Sources(tenant, scope));
        Assert.Equal(["doc-c"], await Store.Sources(tenant, scope + "-kept"));
    }

    [Fact]
    public async Task A_hybrid_search_finds_the_record_holding_the_questions_exact_token_which_the_vectors_alone_rank_out()
    {
        var (tenant, scope) = Fresh();
        List<VectorRecord> records = [.. Enumerable.Range(0, 30).Select(i => new VectorRecord($"order-{i}", Axis(0, 1f, i / 100f), "doc-1", $"Order {40_000 + i} shipped to Lyon."))];
        records.Add(new VectorRecord("wanted", Axis(5), "doc-2", "Order 56029 shipped to Bergen."));
        await Store.Upsert(tenant, scope, records);

        var dense = await Store.Search(tenant, scope, Axis(0), top: 5, minScore: -1);
        var hybrid = await Store.HybridSearch(tenant, scope, Axis(0), "Where did order 56029 go?", top: 5, minScore: -1);

        Assert.DoesNotContain("wanted", dense.Select(m => m.Id));
        Assert.Contains("wanted", hybrid.Select(m => m.Id));
        Assert.NotNull(hybrid.Single(m => m.Id == "wanted").Vector); // recall compares the matches' vectors to mark supersession
    }

    private static (string Tenant, string Scope) Fresh() => ("t-" + Guid.NewGuid().ToString("N")[..10], "conv:conv_" + Guid.NewGuid().ToString("N"));

    private static VectorRecord Record(string id, string source, float[] vector) => new(id, vector, source, "text of " + id);

    /// <summary>A unit vector along <paramref name="axis"/>, optionally tilted towards the next axis.</summary>
    private static float[] Axis(int axis, float weight = 1f, float tilt = 0f)
    {
        var vector = new float[Dimensions];
        vector[axis] = weight;
        vector[axis + 1] = tilt;
        var norm = MathF.Sqrt(weight * weight + tilt * tilt);
        return [.. vector.Select(v => v / norm)];
    }
}

/// <summary>The embedded store: vector index grains on the three-silo test cluster.</summary>
[Collection(ClusterCollection.Name)]
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class GrainVectorStoreContractTests(ClusterFixture fixture) : VectorStoreContract
{
    protected override IVectorStore Store { get; } = new GrainVectorStore(fixture.Grains);
}

/// <summary>Qdrant, when <c>QDRANT_ENDPOINT</c> names one; skipped (not passed) otherwise.</summary>
public sealed class QdrantVectorStoreContractTests : VectorStoreContract, IDisposable
{
    public const string SkipReason =
        "No Qdrant here: set QDRANT_ENDPOINT to its gRPC endpoint (e.g. docker run -p 6334:6334 qdrant/qdrant, then QDRANT_ENDPOINT=http://127.0.0.1:6334) to run the vector store contract against Qdrant.";

    private readonly QdrantClient? _client;
    private readonly QdrantVectorStore? _store;

    public QdrantVectorStoreContractTests()
    {
        if (Environment.GetEnvironmentVariable("QDRANT_ENDPOINT") is { Length: > 0 } endpoint)
        {
            _client = new QdrantClient(new Uri(endpoint));
            _store = new QdrantVectorStore(_client, "contract-" + Guid.NewGuid().ToString("N")[..12], 384);
        }
    }

    protected override IVectorStore Store => _store ?? throw Xunit.Sdk.SkipException.ForSkip(SkipReason);

    public void Dispose()
    {
        _store?.Dispose();
        _client?.Dispose();
    }
}
