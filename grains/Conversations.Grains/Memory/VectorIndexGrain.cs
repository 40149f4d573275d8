using System.Numerics.Tensors;
using Conversations.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains.Memory;

/// <summary>An embedded, persistent vector index, stored in sealed pages (<see cref="VectorPages"/>); see <see cref="IVectorIndexGrain"/>.</summary>
public sealed class VectorIndexGrain(
    [PersistentState("vectors", StorageNames.Conversations)] IPersistentState<VectorIndexState> state,
    ILogger<VectorIndexGrain> logger) : Grain, IVectorIndexGrain
{
    private VectorPages _pages = null!;

    /// <summary>The records' words, built on first hybrid search and kept up to date change by change (derived: not stored).</summary>
    private LexicalIndex? _lexical;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _pages = new(state, ServiceProvider.GetRequiredKeyedService<Orleans.Storage.IGrainStorage>(StorageNames.Conversations), this.GetGrainId(), logger);
        return _pages.Load();
    }

    public Task<GatewayError?> Upsert(IReadOnlyList<VectorRecord> records) =>
        Change(records.Select(r => r.Id).ToHashSet(StringComparer.Ordinal), records);

    public Task<IReadOnlyList<VectorMatch>> Search(float[] vector, int top, float minScore) =>
        Task.FromResult<IReadOnlyList<VectorMatch>>([.. Dense(vector, top, minScore).Select(m => new VectorMatch(m.Record.Id, m.Record.Source, m.Record.Text, m.Score))]);

    public Task<IReadOnlyList<VectorMatch>> HybridSearch(float[] vector, string? text, int top, float minScore)
    {
        var dense = Dense(vector, top, minScore);
        var lexical = text is null ? [] : Lexical().Search(text, Math.Max(3, top / 3)); // exact-token matches are few; more would crowd out the dense ones
        var fused = HybridRanking.Fuse([.. dense.Select(m => m.Record.Id)], [.. lexical.Select(m => m.Id)], top);
        var wanted = fused.Select(f => f.Id).ToHashSet(StringComparer.Ordinal);
        var byId = _pages.All.Where(r => wanted.Contains(r.Id)).ToDictionary(r => r.Id, StringComparer.Ordinal);
        return Task.FromResult<IReadOnlyList<VectorMatch>>([.. fused
            .Where(f => byId.ContainsKey(f.Id)) // a search interleaved with a write may see the words of records not yet stored
            .Select(f => (Record: byId[f.Id], f.Score))
            .Select(m => new VectorMatch(m.Record.Id, m.Record.Source, m.Record.Text, (float)m.Score, m.Record.Vector))]);
    }

    public Task<IReadOnlyList<string>> Sources() =>
        Task.FromResult<IReadOnlyList<string>>([.. _pages.All.Select(r => r.Source).Distinct(StringComparer.Ordinal)]);

    public Task<GatewayError?> DeleteSource(string source) =>
        Change(_pages.All.Where(r => r.Source == source).Select(r => r.Id).ToHashSet(StringComparer.Ordinal), []);

    public async Task<GatewayError?> Clear()
    {
        _lexical = null;
        var failed = await _pages.TryClear();
        _lexical = null;
        DeactivateOnIdle();
        return failed is null ? null : this.StorageFailed(failed, logger);
    }

    private List<(VectorRecord Record, float Score)> Dense(float[] vector, int top, float minScore) =>
    [
        .. _pages.All
            .Select(r => (Record: r, Score: TensorPrimitives.CosineSimilarity(r.Vector, vector)))
            .Where(m => m.Score >= minScore)
            .OrderByDescending(m => m.Score)
            .Take(top),
    ];

    private async Task<GatewayError?> Change(HashSet<string> removed, IReadOnlyList<VectorRecord> added)
    {
        if (removed.Count == 0 && added.Count == 0)
        {
            return null;
        }

        var lexical = _lexical;
        _lexical = null; // a search interleaved with the write builds its own from the records it sees
        var failure = await _pages.TryChange(removed, added);
        _lexical = null; // ... which the write may have changed since
        if (failure is not null)
        {
            return this.StorageFailed(failure, logger);
        }

        if (lexical is not null)
        {
            foreach (var id in removed)
            {
                lexical.Remove(id);
            }

            foreach (var record in added)
            {
                lexical.Add(record.Id, record.Text);
            }

            _lexical = lexical;
        }

        return null;
    }

    private LexicalIndex Lexical()
    {
        if (_lexical is null)
        {
            _lexical = new LexicalIndex();
            foreach (var record in _pages.All)
            {
                _lexical.Add(record.Id, record.Text);
            }
        }

        return _lexical;
    }
}
