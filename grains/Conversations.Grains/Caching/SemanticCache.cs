using Conversations.Caching;
using Conversations.Grains.Memory;
using Conversations.Grains.Pipeline;
using Conversations.Memory;
using Microsoft.Extensions.AI;

namespace Conversations.Grains.Caching;

/// <summary>
/// The semantic side of the cache: the last user message, embedded by the local model, matched in a vector index whose
/// scope is the hash of everything else (<see cref="CacheKey.Rest"/>), so a paraphrase hits only when the instructions,
/// tools and preceding context are identical; the match names the exact entry whose answer it returns.
/// </summary>
public sealed class SemanticCache(IEmbeddingGenerator<string, Embedding<float>> embeddings, IVectorStore vectors, IGrainFactory grains)
{
    /// <summary>The question a semantic lookup matches: the last message when it is a user's, and none when any message is a function's output or
    /// holds an image, file or audio (their meaning is not in the text).</summary>
    public static string? Question(CompletionRequest request) =>
        request.Messages.Count > 0 && request.Messages[^1] is { Role: Roles.User, Call: null, CallId: null } last
        && !request.Messages.Any(message => message.CallId is not null || message.Parts is { Count: > 0 })
            ? last.Text
            : null;

    /// <summary>The answer of the most similar question under the same rest, if it reaches the policy's similarity; and the probe to store under.</summary>
    public async Task<(SemanticProbe Probe, CachedAnswer? Answer)> Find(
        string tenant, ModelCall call, CachePolicy policy, string question, CancellationToken cancellationToken)
    {
        var scope = "cache:" + CacheKey.Rest(tenant, call.Plan.Version, call.Request, policy.Scope);
        var vector = (await embeddings.GenerateAsync([question], cancellationToken: cancellationToken))[0].Vector.ToArray();
        var matches = await vectors.Search(tenant, scope, vector, 1, (float)policy.MinSimilarity);
        var answer = matches.Count == 0 ? null : await grains.Reference<ICacheEntryGrain>(GrainKeys.For(tenant, matches[0].Source)).Peek();
        return (new SemanticProbe(scope, vector), answer);
    }

    /// <summary>Indexes the question of a stored answer, so later paraphrases find it.</summary>
    public Task Remember(string tenant, SemanticProbe probe, string keyHash) =>
        vectors.Upsert(tenant, probe.Scope, [new VectorRecord(keyHash, probe.Vector, keyHash, string.Empty)]);
}

/// <summary>A question as the semantic index holds it: its scope and its vector.</summary>
public sealed record SemanticProbe(string Scope, float[] Vector);
