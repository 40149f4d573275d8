using System.Security.Cryptography;
using System.Text;
using Conversations.Memory;

namespace Conversations.Grains.Memory;

/// <summary>A knowledge base's metadata: its name and its documents, each with its ingestion's progress.</summary>
[GenerateSerializer, Alias("conv.KnowledgeBaseState")]
public sealed record KnowledgeBaseState
{
    [Id(0)] public string? Name { get; init; }

    [Id(1)] public DateTimeOffset CreatedAt { get; init; }

    [Id(2)] public List<KnowledgeDocument> Documents { get; init; } = [];

    /// <summary>The chunks counted against the knowledge base's cap: those of documents indexed or being ingested (a failed one holds none).</summary>
    public int ChunksHeld => Documents.Where(d => d.Info.Status != DocumentStatus.Failed).Sum(d => d.Info.Chunks);

    public KnowledgeDocument? Find(string documentId) => Documents.Find(d => d.Info.Id == documentId);

    /// <summary>The document whose ingestion runs next: the oldest still processing.</summary>
    public KnowledgeDocument? NextToIngest => Documents.Find(d => d.Info.Status == DocumentStatus.Processing);

    /// <summary>This state with <paramref name="document"/> added, or in place of the document with its id.</summary>
    public KnowledgeBaseState With(KnowledgeDocument document) => this with
    {
        Documents = Find(document.Info.Id) is null
            ? [.. Documents, document]
            : Documents.ConvertAll(d => d.Info.Id == document.Info.Id ? document : d),
    };

    public KnowledgeBaseState Without(string documentId) => this with { Documents = Documents.FindAll(d => d.Info.Id != documentId) };
}

/// <summary>A document as its knowledge base keeps it: what the API shows, and what makes a repeated upload answer with it.</summary>
/// <param name="ContentHash">The SHA-256 of its text: the same file name and text is the same document.</param>
/// <param name="Upload">The <c>Idempotency-Key</c> of the upload that added it, if it had one.</param>
[GenerateSerializer, Immutable, Alias("conv.KnowledgeDocument")]
public sealed record KnowledgeDocument(
    [property: Id(0)] DocumentInfo Info,
    [property: Id(1)] string ContentHash,
    [property: Id(2)] Idempotency? Upload)
{
    public static string Hash(string text) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}

/// <summary>
/// The texts of the documents still being ingested, by document id, so that an interrupted ingestion resumes. A record of
/// its own beside the metadata: every batch rewrites the metadata, and only an upload or an ingestion's end this record.
/// </summary>
[GenerateSerializer, Alias("conv.PendingDocumentTexts")]
public sealed record PendingDocumentTexts
{
    [Id(0)] public Dictionary<string, string> Texts { get; init; } = new(StringComparer.Ordinal);
}
