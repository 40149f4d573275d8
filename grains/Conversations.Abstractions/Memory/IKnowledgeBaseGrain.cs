namespace Conversations.Memory;

/// <summary>
/// A tenant's knowledge base, <c>{tenant}/{kb_…}</c>: its documents' metadata. Their chunks and
/// vectors live in the vector index <c>{tenant}/kb:{kb_…}</c>, one source per document.
/// </summary>
public interface IKnowledgeBaseGrain : IGrainWithStringKey
{
    Task<Result<KnowledgeBaseInfo>> Create(string name);

    [Orleans.Concurrency.AlwaysInterleave]
    Task<Result<KnowledgeBaseInfo>> Get();

    /// <summary>Deletes the knowledge base, its documents and their vectors.</summary>
    Task<Result<KnowledgeBaseInfo>> Delete();

    /// <summary>Chunks the document by tokens with overlap, embeds and indexes the chunks, then records the document.</summary>
    Task<Result<DocumentInfo>> AddDocument(NewDocument document);

    [Orleans.Concurrency.AlwaysInterleave]
    Task<Result<IReadOnlyList<DocumentInfo>>> ListDocuments();

    /// <summary>Removes the document and its vectors.</summary>
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

[GenerateSerializer, Immutable, Alias("conv.DocumentInfo")]
public sealed record DocumentInfo(
    [property: Id(0)] string Id,
    [property: Id(1)] string Filename,
    [property: Id(2)] string Format,
    [property: Id(3)] int Chunks,
    [property: Id(4)] int Tokens,
    [property: Id(5)] DateTimeOffset CreatedAt);

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
