using Conversations.Context;
using Conversations.Grains.Context;
using Conversations.Memory;
using Microsoft.Extensions.AI;

namespace Conversations.Grains.Memory;

/// <summary>
/// Retrieval from a tenant's knowledge bases: the chunks most similar to a query, best first, across
/// the policy's knowledge bases. Shared by conversation turns and stateless responses.
/// </summary>
public static class KnowledgeRetrieval
{
    /// <summary>
    /// The best chunks across the policy's knowledge bases: by embedding similarity fused with <paramref name="text"/>'s words
    /// (BM25, reciprocal rank fusion; the fused scores of different bases compare, being rank-based), or by embedding alone when
    /// <paramref name="text"/> is null.
    /// </summary>
    public static async Task<IReadOnlyList<VectorMatchRef>> Search(IVectorStore vectors, string tenant, float[] query, string? text, ContextPolicy policy)
    {
        var found = await Task.WhenAll(policy.KnowledgeBases!.Select(kb => vectors.For(tenant, KnowledgeScopes.Scope(kb))
            .HybridSearch(query, text, policy.KnowledgeTopK ?? 0, policy.KnowledgeMinScore ?? 0)));
        return [.. found.SelectMany(m => m).OrderByDescending(m => m.Score).Take(policy.KnowledgeTopK ?? 0).Select(m => new VectorMatchRef(m.Id, m.Text, m.Score))];
    }

    /// <summary>
    /// A stateless call's messages with the knowledge section added after its leading system messages
    /// (the instructions), within the policy's allowance, each chunk screened by the caller's injection policy; the ids of the
    /// chunks it holds, for citations; and what the screen found.
    /// </summary>
    public static async Task<(IReadOnlyList<NewItem> Messages, IReadOnlyList<string> Cited, Conversations.Guardrails.GuardrailReport? Screened)> Ground(
        CompletionRequest request, ContextPolicy policy, IVectorStore vectors, IEmbeddingGenerator<string, Embedding<float>> embeddings,
        ContextBuilder builder, CancellationToken cancellationToken)
    {
        var question = string.Join('\n', request.Messages.Reverse().TakeWhile(m => m.Role is not (Roles.Assistant or Roles.System or Roles.Developer)).Reverse().Select(m => m.Text));
        var query = (await embeddings.GenerateAsync([question], cancellationToken: cancellationToken))[0].Vector.ToArray();
        var chunks = await Search(vectors, request.Caller!.Tenant, query, policy.Hybrid ? question : null, policy);
        var (text, ids, screened) = builder.KnowledgeSection(chunks, policy, policy.KnowledgeTokens ?? 0, request.Caller.Guardrails?.Injection);
        if (text.Length == 0)
        {
            return (request.Messages, [], screened);
        }

        var head = request.Messages.TakeWhile(m => m.Role is Roles.System or Roles.Developer).Count();
        return ([.. request.Messages.Take(head), new NewItem(Roles.System, text), .. request.Messages.Skip(head)], ids, screened);
    }
}
