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

    /// <summary>
    /// The records' words (derived: not stored), built when the grain activates, off any search's path (a conversation of 2,000
    /// items takes milliseconds to tokenize), and kept up to date change by change.
    /// </summary>
    private LexicalIndex _lexical = new();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _pages = new(state, ServiceProvider.GetRequiredKeyedService<Orleans.Storage.IGrainStorage>(StorageNames.Conversations), this.GetGrainId(), logger);
        await _pages.Load();
        foreach (var record in _pages.All)
        {
            _lexical.Add(record.Id, record.Text);
        }
    }

    public Task<GatewayError?> Upsert(IReadOnlyList<VectorRecord> records) =>
        Change(records.Select(r => r.Id).ToHashSet(StringComparer.Ordinal), records);

    public Task<IReadOnlyList<VectorMatch>> Search(float[] vector, int top, float minScore) =>
        Task.FromResult<IReadOnlyList<VectorMatch>>([.. Dense(vector, top, minScore).Select(m => new VectorMatch(m.Record.Id, m.Record.Source, m.Record.Text, m.Score))]);

    public Task<IReadOnlyList<VectorMatch>> HybridSearch(float[] vector, string? text, int top, float minScore)
    {
        var dense = Dense(vector, top, minScore);
        var lexical = text is null ? [] : _lexical.Search(text, Math.Max(3, top / 3)); // exact-token matches are few; more would crowd out the dense ones
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
        var failed = await _pages.TryClear();
        _lexical = new();
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

    /// <summary>
    /// Applies a change to storage, then to the words: a search interleaved with the write sees the records and the words as they
    /// were, never a half-applied change (nor rebuilds the words of 2,000 records, as it did when they were dropped for the write).
    /// </summary>
    private async Task<GatewayError?> Change(HashSet<string> removed, IReadOnlyList<VectorRecord> added)
    {
        if (removed.Count == 0 && added.Count == 0)
        {
            return null;
        }

        if (await _pages.TryChange(removed, added) is { } failure)
        {
            return this.StorageFailed(failure, logger);
        }

        foreach (var id in removed)
        {
            _lexical.Remove(id);
        }

        foreach (var record in added)
        {
            _lexical.Add(record.Id, record.Text);
        }

        return null;
    }
}
