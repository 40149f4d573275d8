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
    /// knowledge bases (chunks, best first). A failure never fails a turn: it finds nothing.
    /// </summary>
    public async Task<(IReadOnlyList<ConversationItem> Recalled, IReadOnlyList<VectorMatchRef> Knowledge)> Search(
        IReadOnlyList<ConversationItem> input, ContextPolicy policy, CancellationToken cancellationToken)
    {
        try
        {
            var query = (await _embeddings.GenerateAsync([string.Join('\n', input.Select(i => i.Text))], cancellationToken: cancellationToken))[0].Vector.ToArray();
            IReadOnlyList<ConversationItem> recalled = [];
            if (policy.Recalls)
            {
                var matches = await Index.Search(query, (policy.RecallTopK ?? 0) * 3, policy.RecallMinScore ?? 0); // the window's items are skipped by the builder
                var items = _writes.State.Items.ToDictionary(item => item.Id, StringComparer.Ordinal);
                recalled = [.. matches.Select(m => items.GetValueOrDefault(m.Source)).OfType<ConversationItem>()];
            }

            var knowledge = policy.Retrieves ? await KnowledgeRetrieval.Search(_vectors, _tenant, query, policy) : [];
            return (recalled, knowledge);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogRecallFailed(exception);
            return ([], []);
        }
    }

    private async Task<PassOutcome> IndexItems(CancellationToken cancellationToken)
    {
        var known = (await Index.Sources()).ToHashSet(StringComparer.Ordinal);
        await _writes.Whole(_writes.Durable); // the index holds every item; reconciling it against the newest alone would drop the others
        foreach (var batch in _writes.Durable.Items.Where(item => item.Text.Length > 0 && !known.Contains(item.Id)).Chunk(64))
        {
            var vectors = await _embeddings.GenerateAsync(batch.Select(item => $"{item.Role}: {item.Text}"), cancellationToken: cancellationToken);
            await Index.Upsert([.. batch.Zip(vectors, (item, vector) => new VectorRecord(item.Id, vector.Vector.ToArray(), item.Id, item.Text))]);
        }

        // Reconcile: a conversation or item deleted while this pass ran leaves no vectors behind.
        if (!_writes.Durable.Exists)
        {
            await Index.Clear();
            return PassOutcome.Done;
        }

        var current = _writes.Durable.Items.Select(item => item.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var orphan in (await Index.Sources()).Where(source => !current.Contains(source)))
        {
            await Index.DeleteSource(orphan);
        }

        return PassOutcome.Done;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recall or retrieval failed; the turn goes on without them")]
    private partial void LogRecallFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Removing a deleted item's vector failed; the next indexing pass removes it")]
    private partial void LogForgetFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Indexing a conversation for recall failed ({Reason}); attempt {Attempt}, retrying later")]
    private partial void LogIndexingFailed(string reason, int attempt);
}
