namespace Conversations.Memory;

/// <summary>
/// A tenant's knowledge base, <c>{tenant}/{kb_…}</c>: its documents' metadata and their ingestion jobs. Their chunks and
/// vectors live in the vector index <c>{tenant}/kb:{kb_…}</c>, one source per document.
/// </summary>
public interface IKnowledgeBaseGrain : IGrainWithStringKey
{
    Task<Result<KnowledgeBaseInfo>> Create(string name);

    [Orleans.Concurrency.AlwaysInterleave]
    Task<Result<KnowledgeBaseInfo>> Get();

    /// <summary>Deletes the knowledge base, its documents and their vectors.</summary>
    Task<Result<KnowledgeBaseInfo>> Delete();

    /// <summary>
    /// Accepts the document as a job: chunks it by tokens with overlap (refusing what would exceed the knowledge base's
    /// chunk cap) and records it as <see cref="DocumentStatus.Processing"/>; its chunks are embedded and indexed in the
    /// background, in batches. A retry with the same <paramref name="idempotency"/> key, or the same file name and text,
    /// answers with the document already recorded instead of ingesting again.
    /// </summary>
    Task<Result<DocumentUpload>> AddDocument(NewDocument document, Idempotency? idempotency = null);

    /// <summary>A document, with its ingestion's status and progress.</summary>
    [Orleans.Concurrency.AlwaysInterleave]
    Task<Result<DocumentInfo>> GetDocument(string documentId);

    [Orleans.Concurrency.AlwaysInterleave]
    Task<Result<IReadOnlyList<DocumentInfo>>> ListDocuments();

    /// <summary>Removes the document and its vectors, stopping its ingestion if it is still running.</summary>
    Task<Result<DocumentInfo>> DeleteDocument(string documentId);
}

public static class KnowledgeScopes
{
    /// <summary>The vector store scope that holds a knowledge base's chunks.</summary>
    public static string Scope(string knowledgeBaseId) => "kb:" + knowledgeBaseId;

    /// <summary>How a chunk is cited: <c>{kb}/{doc}#{n}</c>.</summary>
    public static string ChunkId(string knowledgeBaseId, string documentId, int index) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{knowledgeBaseId}/{documentId}#{index}");
}

[GenerateSerializer, Immutable, Alias("conv.KnowledgeBaseInfo")]
public sealed record KnowledgeBaseInfo(
    [property: Id(0)] string Id,
    [property: Id(1)] string Name,
    [property: Id(2)] DateTimeOffset CreatedAt,
    [property: Id(3)] int Documents);

/// <summary>A document: <see cref="Chunks"/> in all, of which <see cref="ChunksDone"/> are embedded and searchable so far.</summary>
[GenerateSerializer, Immutable, Alias("conv.DocumentInfo")]
public sealed record DocumentInfo(
    [property: Id(0)] string Id,
    [property: Id(1)] string Filename,
    [property: Id(2)] string Format,
    [property: Id(3)] int Chunks,
    [property: Id(4)] int Tokens,
    [property: Id(5)] DateTimeOffset CreatedAt,
    [property: Id(6)] DocumentStatus Status,
    [property: Id(7)] int ChunksDone,
    [property: Id(8)] DocumentError? LastError = null);

[GenerateSerializer]
public enum DocumentStatus
{
    /// <summary>Accepted; its chunks are being embedded in the background.</summary>
    Processing,

    /// <summary>Every chunk is embedded and indexed.</summary>
    Completed,

    /// <summary>Ingestion gave up (<see cref="DocumentInfo.LastError"/> says why); the document holds no vectors.</summary>
    Failed,
}

/// <summary>Why a document's ingestion failed: a code for programs, a message for people.</summary>
[GenerateSerializer, Immutable, Alias("conv.DocumentError")]
public sealed record DocumentError(
    [property: Id(0)] string Code,
    [property: Id(1)] string Message);

/// <summary>The answer to an upload: the document, and whether this upload started its ingestion.</summary>
[GenerateSerializer, Immutable, Alias("conv.DocumentUpload")]
public sealed record DocumentUpload(
    [property: Id(0)] DocumentInfo Document,
    [property: Id(1)] DocumentUploadOutcome Outcome);

[GenerateSerializer]
public enum DocumentUploadOutcome
{
    /// <summary>A new document: its ingestion has started.</summary>
    Accepted,

    /// <summary>A retry with the Idempotency-Key of the upload that added the document.</summary>
    Replayed,

    /// <summary>The knowledge base already holds a document with this file name and text (being ingested or done).</summary>
    Existing,
}

[GenerateSerializer, Immutable, Alias("conv.NewDocument")]
public sealed record NewDocument(
    [property: Id(0)] string Id,
    [property: Id(1)] string Filename,
    [property: Id(2)] string Format,
    [property: Id(3)] string Text);

public static class DocumentFormats
{
    public const string Text = "text";
    public const string Markdown = "markdown";

    public static bool IsKnown(string format) => format is Text or Markdown;
}
