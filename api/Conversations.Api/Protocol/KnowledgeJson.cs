using Conversations.Memory;

namespace Conversations.Api;

public sealed record KnowledgeBaseCreateJson(string? Name);

public sealed record KnowledgeBaseJson(string Id, string Name, long CreatedAt, int DocumentCount)
{
    public string Object => "knowledge_base";

    public static KnowledgeBaseJson From(KnowledgeBaseInfo info) => new(info.Id, info.Name, info.CreatedAt.ToUnixTimeSeconds(), info.Documents);
}

/// <summary>A document to ingest: plain text or Markdown, as a string.</summary>
public sealed record DocumentCreateJson(string? Filename, string? Text, string? Format);

/// <summary>A document: <c>status</c> is <c>processing</c>, <c>completed</c> or <c>failed</c>; <c>chunks_done</c> of <c>chunks</c> are searchable.</summary>
public sealed record DocumentJson(
    string Id, string KnowledgeBaseId, string Filename, string Format, string Status, int Chunks, int ChunksDone, int Tokens, long CreatedAt,
    DocumentErrorJson? LastError)
{
    public string Object => "knowledge_base.document";

    public static DocumentJson From(string knowledgeBaseId, DocumentInfo d) => new(
        d.Id, knowledgeBaseId, d.Filename, d.Format, d.Status.ToString().ToLowerInvariant(), d.Chunks, d.ChunksDone, d.Tokens, d.CreatedAt.ToUnixTimeSeconds(),
        d.LastError is { } error ? new DocumentErrorJson(error.Code, error.Message) : null);
}

/// <summary>Why a document's ingestion failed.</summary>
public sealed record DocumentErrorJson(string Code, string Message);
