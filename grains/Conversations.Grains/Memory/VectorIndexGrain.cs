using System.Numerics.Tensors;
using Conversations.Memory;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains.Memory;

/// <summary>An embedded, persistent vector index; see <see cref="IVectorIndexGrain"/>.</summary>
public sealed class VectorIndexGrain(
    [PersistentState("vectors", StorageNames.Conversations)] IPersistentState<VectorIndexState> state,
    ILogger<VectorIndexGrain> logger) : Grain, IVectorIndexGrain
{
    public async Task<GatewayError?> Upsert(IReadOnlyList<VectorRecord> records)
    {
        var ids = records.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        var lexical = _lexical;
        var failed = await Replace([.. state.State.Records.Where(r => !ids.Contains(r.Id)), .. records]);
        if (failed is null && lexical is not null)
        {
            foreach (var record in records)
            {
                lexical.Add(record.Id, record.Text);
            }

            _lexical = lexical; // kept up to date record by record, not rebuilt on every turn's indexing
        }

        return failed;
    }

    public Task<IReadOnlyList<VectorMatch>> Search(float[] vector, int top, float minScore)
    {
        var matches = state.State.Records
            .Select(r => new VectorMatch(r.Id, r.Source, r.Text, TensorPrimitives.CosineSimilarity(r.Vector, vector)))
            .Where(m => m.Score >= minScore)
            .OrderByDescending(m => m.Score)
            .Take(top)
            .ToList();
        return Task.FromResult<IReadOnlyList<VectorMatch>>(matches);
    }

    public Task<IReadOnlyList<VectorMatch>> HybridSearch(float[] vector, string? text, int top, float minScore)
    {
        var dense = state.State.Records
            .Select(r => (Record: r, Score: TensorPrimitives.CosineSimilarity(r.Vector, vector)))
            .Where(m => m.Score >= minScore)
            .OrderByDescending(m => m.Score)
            .Take(top)
            .ToList();
        var byId = state.State.Records.ToDictionary(r => r.Id, StringComparer.Ordinal);
        var lexical = text is null ? [] : Lexical().Search(text, Math.Max(3, top / 3)); // exact-token matches are few; more would crowd out the dense ones
        var fused = HybridRanking.Fuse([.. dense.Select(m => m.Record.Id)], [.. lexical.Select(m => m.Id)], top);
        return Task.FromResult<IReadOnlyList<VectorMatch>>([.. fused
            .Where(f => byId.ContainsKey(f.Id)) // a search interleaved with a write may see the words of records not yet stored
            .Select(f => (Record: byId[f.Id], f.Score))
            .Select(m => new VectorMatch(m.Record.Id, m.Record.Source, m.Record.Text, (float)m.Score, m.Record.Vector))]);
    }

    public Task<IReadOnlyList<string>> Sources() =>
        Task.FromResult<IReadOnlyList<string>>([.. state.State.Records.Select(r => r.Source).Distinct(StringComparer.Ordinal)]);

    public Task<GatewayError?> DeleteSource(string source) => Replace([.. state.State.Records.Where(r => r.Source != source)]);

    public async Task<GatewayError?> Clear()
    {
        _lexical = null;
        var failed = await state.TryClear(this, logger);
        _lexical = null;
        DeactivateOnIdle();
        return failed;
    }

    private async Task<GatewayError?> Replace(List<VectorRecord> records)
    {
        _lexical = null; // rebuilt from the stored records on the next hybrid search (an upsert puts its own back)
        var failed = await state.TryReplace(new VectorIndexState { Records = records }, this, logger);
        _lexical = null;
        return failed;
    }

    /// <summary>The records' words, built from the state on first use after a change (not stored: it is derived).</summary>
    private LexicalIndex Lexical()
    {
        if (_lexical is null)
        {
            _lexical = new LexicalIndex();
            foreach (var record in state.State.Records)
            {
                _lexical.Add(record.Id, record.Text);
            }
        }

        return _lexical;
    }

    private LexicalIndex? _lexical;
}

[GenerateSerializer, Alias("conv.VectorIndexState")]
public sealed record VectorIndexState
{
    [Id(0)] public List<VectorRecord> Records { get; init; } = [];
}
