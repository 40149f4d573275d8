using Conversations.Embeddings;
using Conversations.Grains.Context;
using Conversations.Memory;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains.Memory;

/// <summary>
/// A knowledge base's ingestion jobs, in the background (<see cref="BackgroundWork{TJob}"/>): each pass embeds one batch of
/// at most <see cref="BatchChunks"/> chunks of the oldest document still processing, indexes it and stores the progress with
/// the document, so no pass is long and a job cut short by a restart or a deactivation resumes at its next batch when the
/// grain activates again. Chunks are searchable as soon as their batch is indexed. A document deleted (or its knowledge base)
/// while a batch was being embedded is seen before the batch is indexed, so it leaves no vectors. A document whose batches
/// fail <see cref="MaxAttempts"/> passes in a row, or whose text is lost, is marked failed and its vectors removed.
/// </summary>
internal sealed partial class DocumentIngestion
{
    /// <summary>The chunks one pass embeds: the local model's own batch.</summary>
    public const int BatchChunks = 32;

    public const int MaxAttempts = 8;

    private readonly string _knowledgeBaseId;
    private readonly KnowledgeBaseWrites _writes;
    private readonly ScopedVectors _index;
    private readonly Chunker _chunker;
    private readonly IEmbeddingGenerator<string, Embedding<float>> _embeddings;
    private readonly ILogger _logger;
    private readonly BackgroundWork<object> _work;

    /// <summary>The chunks of the documents being ingested, split once per activation.</summary>
    private readonly Dictionary<string, IReadOnlyList<string>> _chunks = new(StringComparer.Ordinal);

    private (string? DocumentId, int Failures) _failing;

    public DocumentIngestion(
        IGrainBase grain, string knowledgeBaseId, KnowledgeBaseWrites writes, ScopedVectors index, Chunker chunker,
        IEmbeddingGenerator<string, Embedding<float>> embeddings, SummaryOptions options, ILogger logger)
    {
        (_knowledgeBaseId, _writes, _index, _chunker, _embeddings, _logger) = (knowledgeBaseId, writes, index, chunker, embeddings, logger);
        _work = new(grain, (_, cancellationToken) => Ingest(cancellationToken), LogPassFailed, options, keepAlive: true);
    }

    /// <summary>Resumes, on activation, the jobs storage holds unfinished (and drops texts left by ended ones).</summary>
    public void ResumeIfNeeded()
    {
        if (_writes.Durable.NextToIngest is not null || _writes.Texts.Count > 0)
        {
            _work.Schedule(this);
        }
    }

    /// <summary>Starts the ingestion of a document just recorded, with the chunks its upload split it into.</summary>
    public void Start(string documentId, IReadOnlyList<string> chunks)
    {
        _chunks[documentId] = chunks;
        _work.Schedule(this);
    }

    /// <summary>Stops a deleted document's ingestion, if it was running.</summary>
    public void Forget(string documentId) => _chunks.Remove(documentId);

    private async Task<PassOutcome> Ingest(CancellationToken cancellationToken)
    {
        if (_writes.Durable.NextToIngest?.Info is not { } document)
        {
            using var gate = await _writes.Enter(cancellationToken);
            await _writes.DropTextsOfEndedJobs();
            return PassOutcome.Done;
        }

        if (Chunks(document) is not { } chunks)
        {
            return await Fail(document, new("document_text_lost", "The document's text was lost before it was ingested; upload it again."), cancellationToken);
        }

        var batch = chunks.Skip(document.ChunksDone).Take(BatchChunks).ToList();
        GeneratedEmbeddings<Embedding<float>> vectors;
        try
        {
            vectors = await _embeddings.GenerateAsync(batch, EmbeddingPriority.Background, cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            return await Attempted(document, "embedding_failed", cancellationToken);
        }

        try
        {
            return await Index(document, batch, vectors, chunks.Count, cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            return await Attempted(document, "vector_store_unavailable", cancellationToken);
        }
    }

    /// <summary>The document's chunks; null if its text is gone or no longer splits into the chunks counted at its upload.</summary>
    private IReadOnlyList<string>? Chunks(DocumentInfo document)
    {
        if (_chunks.TryGetValue(document.Id, out var chunks))
        {
            return chunks;
        }

        if (!_writes.Texts.TryGetValue(document.Id, out var text))
        {
            return null;
        }

        var split = _chunker.Split(text);
        return split.Count == document.Chunks ? _chunks[document.Id] = split : null;
    }

    private async Task<PassOutcome> Index(DocumentInfo document, List<string> batch, GeneratedEmbeddings<Embedding<float>> vectors, int total, CancellationToken cancellationToken)
    {
        using var gate = await _writes.Enter(cancellationToken);
        if (_writes.State.Find(document.Id) is not { Info.Status: DocumentStatus.Processing } stored)
        {
            return PassOutcome.More; // deleted, or its knowledge base, while the batch was embedded: nothing to index
        }

        await _index.Upsert([.. batch.Select((chunk, i) => new VectorRecord(
            KnowledgeScopes.ChunkId(_knowledgeBaseId, document.Id, document.ChunksDone + i), vectors[i].Vector.ToArray(), document.Id, chunk))]);
        var done = document.ChunksDone + batch.Count;
        var next = stored.Info with { ChunksDone = done, Status = done == total ? DocumentStatus.Completed : DocumentStatus.Processing };
        if (await _writes.Write(_writes.State.With(stored with { Info = next })) is not null)
        {
            return PassOutcome.Failed("storage_unavailable"); // the grain deactivates; the next activation resumes at this batch (same chunk ids)
        }

        _failing = default;
        if (next.Status == DocumentStatus.Completed)
        {
            _chunks.Remove(document.Id);
            await _writes.DropTextsOfEndedJobs();
        }

        return PassOutcome.More;
    }

    /// <summary>A batch failed: retried later, until the document has failed <see cref="MaxAttempts"/> passes in a row.</summary>
    private async Task<PassOutcome> Attempted(DocumentInfo document, string reason, CancellationToken cancellationToken)
    {
        _failing = (document.Id, _failing.DocumentId == document.Id ? _failing.Failures + 1 : 1);
        if (_failing.Failures < MaxAttempts)
        {
            return PassOutcome.Failed(reason);
        }

        return await Fail(document, new(reason, $"Ingestion failed {MaxAttempts} times in a row ({reason}); delete the document and upload it again."), cancellationToken);
    }

    /// <summary>Marks the document failed, without vectors or text; the next pass goes on with the next document.</summary>
    private async Task<PassOutcome> Fail(DocumentInfo document, DocumentError error, CancellationToken cancellationToken)
    {
        using var gate = await _writes.Enter(cancellationToken);
        if (_writes.State.Find(document.Id) is not { Info.Status: DocumentStatus.Processing } stored)
        {
            return PassOutcome.More;
        }

        await _index.DeleteSource(document.Id); // throws if the store is down: the pass is retried
        if (await _writes.Write(_writes.State.With(stored with { Info = stored.Info with { Status = DocumentStatus.Failed, ChunksDone = 0, LastError = error } })) is not null)
        {
            return PassOutcome.Failed("storage_unavailable");
        }

        _failing = default;
        _chunks.Remove(document.Id);
        await _writes.DropTextsOfEndedJobs();
        LogDocumentFailed(document.Id, error.Code);
        return PassOutcome.More;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ingesting a knowledge base document failed ({Reason}); attempt {Attempt}, retrying later")]
    private partial void LogPassFailed(string reason, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Knowledge base document {DocumentId} failed ({Code}); it holds no vectors")]
    private partial void LogDocumentFailed(string documentId, string code);
}
