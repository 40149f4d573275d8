using Orleans.Concurrency;

namespace Conversations.Memory;

/// <summary>
/// The ids of a tenant's knowledge bases, keyed by tenant, so they can be listed. A knowledge base is added before its
/// creation is written and removed after its deletion, so a listing holds every knowledge base that exists and perhaps
/// the id of one whose creation failed; readers keep only the ids whose knowledge base answers.
/// </summary>
public interface IKnowledgeBaseDirectoryGrain : IGrainWithStringKey
{
    /// <summary>At most this many knowledge bases per tenant.</summary>
    public const int MaxKnowledgeBases = 1_000;

    /// <summary>Adds the id; a 429 <c>knowledge_base_limit_reached</c> past <see cref="MaxKnowledgeBases"/>.</summary>
    Task<GatewayError?> Add(string knowledgeBaseId);

    Task<GatewayError?> Remove(string knowledgeBaseId);

    /// <summary>The ids, oldest first.</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<string>> List();
}
