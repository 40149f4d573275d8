using Conversations.Embeddings;
using Conversations.Context;
using Conversations.Grains.Context;
using Conversations.Memory;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains.Memory;

/// <summary>
/// A conversation's long-term memory: its items embedded (locally) into a vector index of its own, in the background,
/// and a turn's search of that index and of the policy's knowledge bases for what the new input recalls.
/// </summary>
internal sealed partial class ConversationRecall
{
    private readonly string _tenant;
    private readonly ConversationWrites _writes;
    private readonly IVectorStore _vectors;
    private readonly IEmbeddingGenerator<string, Embedding<float>> _embeddings;
    private readonly ILogger _logger;
    private readonly BackgroundWork<object> _indexing;

    public ConversationRecall(
        IGrainBase grain, string tenant, string conversationId, ConversationWrites writes, IVectorStore vectors,
        IEmbeddingGenerator<string, Embedding<float>> embeddings, SummaryOptions options, ILogger logger)
    {
        (_tenant, _writes, _vectors, _embeddings, _logger) = (tenant, writes, vectors, embeddings, logger);
        Index = vectors.For(tenant, VectorScopes.Conversation(conversationId));
        _indexing = new(grain, (_, cancellationToken) => IndexItems(cancellationToken), LogIndexingFailed, options);
    }

    /// <summary>The conversation's own vectors, one source per item.</summary>
    public ScopedVectors Index { get; }

    /// <summary>Indexes, in the background, every item the index does not hold yet, and drops what it holds of removed items.</summary>
    public void Schedule() => _indexing.Schedule(this);

    /// <summary>Removes a deleted item's vector; if that fails, the next indexing pass reconciles the index.</summary>
    public async Task Forget(string itemId)
    {
        try
        {
            await Index.DeleteSource(itemId);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogForgetFailed(exception);
            Schedule();
        }
    }

    /// <summary>
    /// Embeds the new input once and searches the conversation's index (older items, best first) and the policy's
    /// knowledge bases (chunks, best first), fusing the embeddings' ranking with the input's words (BM25) unless the policy
    /// says dense. Each recalled item carries where it stands in the conversation, and whether a later recalled statement
    /// of the same fact supersedes it (then the later one follows it in the ranking; with <see cref="SupersededPolicies.Drop"/>
    /// it takes its place). A failure never fails a turn: it finds nothing.
    /// </summary>
    public async Task<Recalled> Search(IReadOnlyList<ConversationItem> input, ContextPolicy policy, CancellationToken cancellationToken)
    {
        try
        {
            var text = string.Join('\n', input.Select(i => i.Text));
            var query = (await _embeddings.GenerateAsync([text], cancellationToken: cancellationToken))[0].Vector.ToArray();
            var lexical = policy.Hybrid ? text : null;
            var recalled = Recalled.None;
            if (policy.Recalls)
            {
                // Three times the count: the window's items are skipped by the builder.
                var matches = await Index.HybridSearch(query, lexical, (policy.RecallTopK ?? 0) * 3, policy.RecallMinScore ?? 0);
                recalled = Resolve(matches, policy);
            }

            var knowledge = policy.Retrieves ? await KnowledgeRetrieval.Search(_vectors, _tenant, query, lexical, policy) : [];
            return recalled with { Knowledge = knowledge };
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogRecallFailed(exception);
            return Recalled.None;
        }
    }

    /// <summary>The matched items still in the conversation, best first, repeats folded, with their positions and supersessions applied.</summary>
    private Recalled Resolve(IReadOnlyList<VectorMatch> matches, ContextPolicy policy)
    {
        var wanted = matches.Select(m => m.Source).ToHashSet(StringComparer.Ordinal);
        var found = new Dictionary<string, (ConversationItem Item, int Position)>(StringComparer.Ordinal);
        var items = _writes.State.Items;
        for (var i = 0; i < items.Count && found.Count < wanted.Count; i++)
        {
            if (wanted.Contains(items[i].Id))
            {
                found[items[i].Id] = (items[i], i);
            }
        }

        var recollections = Supersession.FoldRepeats([.. matches.Where(m => found.ContainsKey(m.Source))
            .Select(m => new Recollection(found[m.Source].Item, found[m.Source].Position, m.Vector))]);
        var superseded = Supersession.Find(recollections);
        var drop = policy.RecallSuperseded == SupersededPolicies.Drop;
        var ranked = new List<ConversationItem>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var recollection in recollections)
        {
            var newer = superseded.GetValueOrDefault(recollection.Item.Id);
            if (!drop || newer is null)
            {
                Add(recollection.Item.Id);
            }

            if (newer is not null)
            {
                Add(newer);
            }
        }

        return new Recalled(ranked, found.ToDictionary(f => f.Key, f => new RecallMark(f.Value.Position, drop ? null : superseded.GetValueOrDefault(f.Key)), StringComparer.Ordinal), []);

        void Add(string id)
        {
            if (seen.Add(id))
            {
                ranked.Add(found[id].Item);
            }
        }
    }

    private async Task<PassOutcome> IndexItems(CancellationToken cancellationToken)
    {
        var known = (await Index.Sources()).ToHashSet(StringComparer.Ordinal);
        var whole = await _writes.Whole(_writes.Durable); // the index holds every item; reconciling it against the newest alone would drop the others
        foreach (var batch in whole.Items.Where(item => item.Text.Length > 0 && !known.Contains(item.Id)).Chunk(64))
        {
            var vectors = await _embeddings.GenerateAsync(batch.Select(item => $"{item.Role}: {item.Text}"), EmbeddingPriority.Background, cancellationToken);
            await Index.Upsert([.. batch.Zip(vectors, (item, vector) => new VectorRecord(item.Id, vector.Vector.ToArray(), item.Id, item.Text))]);
        }

        // Reconcile: a conversation or item deleted while this pass ran leaves no vectors behind.
        if (!_writes.Durable.Exists)
        {
            await Index.Clear();
            return PassOutcome.Done;
        }

        var current = (await _writes.Whole(_writes.Durable)).Items.Select(item => item.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var orphan in (await Index.Sources()).Where(source => !current.Contains(source)))
        {
            await Index.DeleteSource(orphan);
        }

        return PassOutcome.Done;
    }

    /// <summary>What a turn's input recalls: older items (best first) with their marks, and knowledge chunks (best first).</summary>
    public sealed record Recalled(IReadOnlyList<ConversationItem> Items, IReadOnlyDictionary<string, RecallMark> Marks, IReadOnlyList<VectorMatchRef> Knowledge)
    {
        public static Recalled None { get; } = new([], new Dictionary<string, RecallMark>(), []);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recall or retrieval failed; the turn goes on without them")]
    private partial void LogRecallFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Removing a deleted item's vector failed; the next indexing pass removes it")]
    private partial void LogForgetFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Indexing a conversation for recall failed ({Reason}); attempt {Attempt}, retrying later")]
    private partial void LogIndexingFailed(string reason, int attempt);
}
