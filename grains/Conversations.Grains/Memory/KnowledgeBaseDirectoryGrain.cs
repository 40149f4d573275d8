using Conversations.Memory;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains.Memory;

/// <summary>The ids of one tenant's knowledge bases; see <see cref="IKnowledgeBaseDirectoryGrain"/>.</summary>
public sealed class KnowledgeBaseDirectoryGrain(
    [PersistentState("knowledge-directory", StorageNames.Conversations)] IPersistentState<KnowledgeBaseDirectoryState> state,
    ILogger<KnowledgeBaseDirectoryGrain> logger) : Grain, IKnowledgeBaseDirectoryGrain
{
    public Task<GatewayError?> Add(string knowledgeBaseId)
    {
        var ids = state.State.Ids;
        if (ids.Contains(knowledgeBaseId, StringComparer.Ordinal))
        {
            return Task.FromResult<GatewayError?>(null);
        }

        return ids.Count >= IKnowledgeBaseDirectoryGrain.MaxKnowledgeBases
            ? Task.FromResult<GatewayError?>(new GatewayError(429, "invalid_request_error", "knowledge_base_limit_reached",
                $"A tenant holds at most {IKnowledgeBaseDirectoryGrain.MaxKnowledgeBases} knowledge bases; delete one first."))
            : state.TryReplace(new KnowledgeBaseDirectoryState { Ids = [.. ids, knowledgeBaseId] }, this, logger);
    }

    public Task<GatewayError?> Remove(string knowledgeBaseId) =>
        state.State.Ids.Contains(knowledgeBaseId, StringComparer.Ordinal)
            ? state.TryReplace(new KnowledgeBaseDirectoryState { Ids = state.State.Ids.FindAll(id => id != knowledgeBaseId) }, this, logger)
            : Task.FromResult<GatewayError?>(null);

    public Task<IReadOnlyList<string>> List() => Task.FromResult<IReadOnlyList<string>>(state.State.Ids);
}

[GenerateSerializer, Alias("conv.KnowledgeBaseDirectoryState")]
public sealed record KnowledgeBaseDirectoryState
{
    [Id(0)] public List<string> Ids { get; init; } = [];
}
