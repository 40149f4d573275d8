using Conversations.Grains.Context;
using Conversations.Memory;
using Conversations.Providers;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Conversations.Grains.Memory;

/// <summary>
/// A tenant's knowledge base; see <see cref="IKnowledgeBaseGrain"/>. An upload is answered once the document is split into
/// chunks and recorded; <see cref="DocumentIngestion"/> embeds and indexes its chunks in the background. Uploads, deletes and
/// ingestion batches change the state one at a time (<see cref="KnowledgeBaseWrites"/>); reads never wait for them.
/// </summary>
public sealed partial class KnowledgeBaseGrain(
    [PersistentState("knowledge", StorageNames.Conversations)] IPersistentState<KnowledgeBaseState> state,
    [PersistentState("knowledge-texts", StorageNames.Conversations)] IPersistentState<PendingDocumentTexts> texts,
    Chunker chunker,
    TokenCounter tokens,
    IEmbeddingGenerator<string, Embedding<float>> embeddings,
    IVectorStore vectors,
    TimeProvider clock,
    IOptions<SummaryOptions> options,
    Microsoft.Extensions.Logging.ILogger<KnowledgeBaseGrain> logger) : Grain, IKnowledgeBaseGrain
{
    /// <summary>Bounds one index grain's state (every upsert rewrites it): about 10 MB of vectors and text.</summary>
    public const int MaxChunks = 4_000;

    private KnowledgeBaseWrites _writes = null!;
    private DocumentIngestion _ingestion = null!;

    private string KnowledgeBaseId => GrainKeys.Parse(this.GetPrimaryKeyString()).Id;

    private ScopedVectors Index => vectors.For(GrainKeys.Parse(this.GetPrimaryKeyString()).Tenant, KnowledgeScopes.Scope(KnowledgeBaseId));

    private IKnowledgeBaseDirectoryGrain Listing => GrainFactory.GetGrain<IKnowledgeBaseDirectoryGrain>(GrainKeys.Parse(this.GetPrimaryKeyString()).Tenant);

    private GatewayError NotFound => GatewayError.NotFound("knowledge base", KnowledgeBaseId);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _writes = new(state, texts, this, logger);
        _ingestion = new(this, KnowledgeBaseId, _writes, Index, chunker, embeddings, options.Value, logger);
        _ingestion.ResumeIfNeeded();
        return Task.CompletedTask;
    }

    public async Task<Result<KnowledgeBaseInfo>> Create(string name)
    {
        using var gate = await _writes.Enter(CancellationToken.None);
        if (_writes.State.Name is not null)
        {
            return GatewayError.Conflict($"Knowledge base '{KnowledgeBaseId}' already exists.", "knowledge_base_exists");
        }

        // Listed before it exists: a listing skips an id whose creation then failed, and never misses one that exists.
        if (await Listing.Add(KnowledgeBaseId) is { } unlisted)
        {
            return unlisted;
        }

        return await _writes.Write(new KnowledgeBaseState { Name = name, CreatedAt = clock.GetUtcNow() }) ?? Info();
    }

    public Task<Result<KnowledgeBaseInfo>> Get() => Task.FromResult(_writes.Durable.Name is null ? NotFound : Info());

    public async Task<Result<KnowledgeBaseInfo>> Delete()
    {
        using var gate = await _writes.Enter(CancellationToken.None);
        if (_writes.State.Name is null)
        {
            return NotFound;
        }

        var deleted = Info().Value!;
        try
        {
            await Index.Clear();
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogStorageFailed(exception);
            return GatewayError.StorageUnavailable;
        }

        if (await _writes.Clear() is { } failed)
        {
            return failed;
        }

        if (await Listing.Remove(KnowledgeBaseId) is not null)
        {
            LogUnlistFailed(KnowledgeBaseId); // deleted: a listing skips it, as it no longer answers
        }

        DeactivateOnIdle();
        return deleted;
    }

    public async Task<Result<DocumentUpload>> AddDocument(NewDocument document, Idempotency? idempotency = null)
    {
        using var gate = await _writes.Enter(CancellationToken.None);
        var current = _writes.State;
        if (current.Name is null)
        {
            return NotFound;
        }

        if (idempotency is not null && current.Documents.Find(d => d.Upload?.Key == idempotency.Key) is { } keyed)
        {
            return keyed.Upload!.Fingerprint == idempotency.Fingerprint
                ? new DocumentUpload(keyed.Info, DocumentUploadOutcome.Replayed)
                : GatewayError.IdempotencyKeyReused;
        }

        var hash = KnowledgeDocument.Hash(document.Text);
        if (current.Documents.Find(d => d.Info.Filename == document.Filename && d.ContentHash == hash && d.Info.Status != DocumentStatus.Failed) is { } same)
        {
            return new DocumentUpload(same.Info, DocumentUploadOutcome.Existing);
        }

        if (current.Find(document.Id) is not null)
        {
            return GatewayError.Conflict($"Document '{document.Id}' already exists.", "document_exists");
        }

        var chunks = chunker.Split(document.Text);
        if (chunks.Count == 0)
        {
            return GatewayError.Invalid("The document has no text.", "text", "empty_document");
        }

        if (current.ChunksHeld + chunks.Count > MaxChunks)
        {
            return GatewayError.Invalid(
                $"A knowledge base holds at most {MaxChunks} chunks, counting documents still being ingested; it holds {current.ChunksHeld} and this document has {chunks.Count}. Delete documents or use another knowledge base.",
                "text", "knowledge_base_full");
        }

        // The text first: a document recorded as processing can always be resumed.
        if (await _writes.KeepText(document.Id, document.Text) is { } notKept)
        {
            return notKept;
        }

        var info = new DocumentInfo(document.Id, document.Filename, document.Format, chunks.Count, tokens.Count(document.Text), clock.GetUtcNow(), DocumentStatus.Processing, 0);
        if (await _writes.Write(current.With(new KnowledgeDocument(info, hash, idempotency))) is { } failed)
        {
            await _writes.DropTextsOfEndedJobs();
            return failed;
        }

        _ingestion.Start(document.Id, chunks);
        return new DocumentUpload(info, DocumentUploadOutcome.Accepted);
    }

    public Task<Result<DocumentInfo>> GetDocument(string documentId) => Task.FromResult(
        _writes.Durable.Name is null ? NotFound
        : _writes.Durable.Find(documentId) is { } document ? document.Info
        : (Result<DocumentInfo>)GatewayError.NotFound("document", documentId));

    public Task<Result<IReadOnlyList<DocumentInfo>>> ListDocuments() => Task.FromResult(
        _writes.Durable.Name is null ? NotFound : (Result<IReadOnlyList<DocumentInfo>>)_writes.Durable.Documents.ConvertAll(d => d.Info));

    public async Task<Result<DocumentInfo>> DeleteDocument(string documentId)
    {
        using var gate = await _writes.Enter(CancellationToken.None);
        if (_writes.State.Name is null)
        {
            return NotFound;
        }

        if (_writes.State.Find(documentId) is not { } document)
        {
            return GatewayError.NotFound("document", documentId);
        }

        try
        {
            await Index.DeleteSource(documentId);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogStorageFailed(exception);
            return GatewayError.StorageUnavailable;
        }

        if (await _writes.Write(_writes.State.Without(documentId)) is { } failed)
        {
            return failed;
        }

        _ingestion.Forget(documentId);
        await _writes.DropTextsOfEndedJobs();
        return document.Info;
    }

    [Microsoft.Extensions.Logging.LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "A knowledge base's vector index could not be written")]
    private partial void LogStorageFailed(Exception exception);

    [Microsoft.Extensions.Logging.LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "Deleted knowledge base {KnowledgeBaseId} could not be removed from its tenant's list")]
    private partial void LogUnlistFailed(string knowledgeBaseId);

    private Result<KnowledgeBaseInfo> Info() => new KnowledgeBaseInfo(KnowledgeBaseId, _writes.Durable.Name!, _writes.Durable.CreatedAt, _writes.Durable.Documents.Count);
}
