using System.Numerics.Tensors;
using Conversations.Memory;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains.Memory;

/// <summary>An embedded, persistent vector index; see <see cref="IVectorIndexGrain"/>.</summary>
public sealed class VectorIndexGrain(
    [PersistentState("vectors", StorageNames.Conversations)] IPersistentState<VectorIndexState> state,
    ILogger<VectorIndexGrain> logger) : Grain, IVectorIndexGrain
{
    public Task<GatewayError?> Upsert(IReadOnlyList<VectorRecord> records)
    {
        var ids = records.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        return Replace([.. state.State.Records.Where(r => !ids.Contains(r.Id)), .. records]);
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

    public Task<IReadOnlyList<string>> Sources() =>
        Task.FromResult<IReadOnlyList<string>>([.. state.State.Records.Select(r => r.Source).Distinct(StringComparer.Ordinal)]);

    public Task<GatewayError?> DeleteSource(string source) => Replace([.. state.State.Records.Where(r => r.Source != source)]);

    public async Task<GatewayError?> Clear()
    {
        var failed = await state.TryClear(this, logger);
        DeactivateOnIdle();
        return failed;
    }

    private Task<GatewayError?> Replace(List<VectorRecord> records) =>
        state.TryReplace(new VectorIndexState { Records = records }, this, logger);
}

[GenerateSerializer, Alias("conv.VectorIndexState")]
public sealed record VectorIndexState
{
    [Id(0)] public List<VectorRecord> Records { get; init; } = [];
}
