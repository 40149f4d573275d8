using Conversations.Memory;
using Conversations.Providers;
using Microsoft.Extensions.AI;

namespace Conversations.Grains.Memory;

/// <summary>A tenant's knowledge base; see <see cref="IKnowledgeBaseGrain"/>.</summary>
public sealed partial class KnowledgeBaseGrain(
    [PersistentState("knowledge", StorageNames.Conversations)] IPersistentState<KnowledgeBaseState> state,
    Chunker chunker,
    TokenCounter tokens,
    IEmbeddingGenerator<string, Embedding<float>> embeddings,
    IVectorStore vectors,
    TimeProvider clock,
    Microsoft.Extensions.Logging.ILogger<KnowledgeBaseGrain> logger) : Grain, IKnowledgeBaseGrain
{
    /// <summary>Bounds one index grain's state (every upsert rewrites it): about 10 MB of vectors and text.</summary>
    public const int MaxChunks = 4_000;

    private string KnowledgeBaseId => GrainKeys.Parse(this.GetPrimaryKeyString()).Id;

    private ScopedVectors Index => vectors.For(GrainKeys.Parse(this.GetPrimaryKeyString()).Tenant, KnowledgeScopes.Scope(KnowledgeBaseId));

    private GatewayError NotFound => GatewayError.NotFound("knowledge base", KnowledgeBaseId);

    public async Task<Result<KnowledgeBaseInfo>> Create(string name)
    {
        if (state.State.Name is not null)
        {
            return GatewayError.Conflict($"Knowledge base '{KnowledgeBaseId}' already exists.", "knowledge_base_exists");
        }

        return await Write(new KnowledgeBaseState { Name = name, CreatedAt = clock.GetUtcNow() }) ?? Info();
    }

    public Task<Result<KnowledgeBaseInfo>> Get() => Task.FromResult(state.State.Name is null ? NotFound : Info());

    public async Task<Result<KnowledgeBaseInfo>> Delete()
    {
        if (state.State.Name is null)
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

        if (await state.TryClear(this, logger) is { } failed)
        {
            return failed;
        }

        DeactivateOnIdle();
        return deleted;
    }

    public async Task<Result<DocumentInfo>> AddDocument(NewDocument document)
    {
        if (state.State.Name is null)
        {
            return NotFound;
        }

        if (state.State.Documents.Exists(d => d.Id == document.Id))
        {
            return GatewayError.Conflict($"Document '{document.Id}' already exists.", "document_exists");
        }

        var chunks = chunker.Split(document.Text);
        if (chunks.Count == 0)
        {
            return GatewayError.Invalid("The document has no text.", "text", "empty_document");
        }

        if (state.State.Documents.Sum(d => d.Chunks) + chunks.Count > MaxChunks)
        {
            return GatewayError.Invalid($"A knowledge base holds at most {MaxChunks} chunks; this document would exceed it. Use another knowledge base.", "text", "knowledge_base_full");
        }

        // Vectors first, then the record: a document is listed only once it can be retrieved.
        var vectors = await embeddings.GenerateAsync(chunks);
        try
        {
            await Index.Upsert([.. chunks.Select((chunk, i) => new VectorRecord(
                KnowledgeScopes.ChunkId(KnowledgeBaseId, document.Id, i), vectors[i].Vector.ToArray(), document.Id, chunk))]);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogStorageFailed(exception);
            return GatewayError.StorageUnavailable;
        }

        var info = new DocumentInfo(document.Id, document.Filename, document.Format, chunks.Count, tokens.Count(document.Text), clock.GetUtcNow());
        if (await Write(state.State with { Documents = [.. state.State.Documents, info] }) is { } failure)
        {
            try
            {
                await Index.DeleteSource(document.Id); // nothing half-added: the retry starts clean
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                LogStorageFailed(exception); // unlisted chunks stay until the knowledge base is deleted
            }

            return failure;
        }

        return info;
    }

    public Task<Result<IReadOnlyList<DocumentInfo>>> ListDocuments() =>
        Task.FromResult(state.State.Name is null ? NotFound : (Result<IReadOnlyList<DocumentInfo>>)state.State.Documents);

    public async Task<Result<DocumentInfo>> DeleteDocument(string documentId)
    {
        if (state.State.Name is null)
        {
            return NotFound;
        }

        if (state.State.Documents.Find(d => d.Id == documentId) is not { } document)
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

        return await Write(state.State with { Documents = state.State.Documents.FindAll(d => d.Id != documentId) }) ?? (Result<DocumentInfo>)document;
    }

    [Microsoft.Extensions.Logging.LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Warning, Message = "A knowledge base's vector index could not be written")]
    private partial void LogStorageFailed(Exception exception);

    private Result<KnowledgeBaseInfo> Info() => new KnowledgeBaseInfo(KnowledgeBaseId, state.State.Name!, state.State.CreatedAt, state.State.Documents.Count);

    private Task<GatewayError?> Write(KnowledgeBaseState next) => state.TryReplace(next, this, logger);
}

[GenerateSerializer, Alias("conv.KnowledgeBaseState")]
public sealed record KnowledgeBaseState
{
    [Id(0)] public string? Name { get; init; }

    [Id(1)] public DateTimeOffset CreatedAt { get; init; }

    [Id(2)] public List<DocumentInfo> Documents { get; init; } = [];
}
