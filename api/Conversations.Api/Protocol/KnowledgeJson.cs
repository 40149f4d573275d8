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

public sealed record DocumentJson(string Id, string KnowledgeBaseId, string Filename, string Format, int Chunks, int Tokens, long CreatedAt)
{
    public string Object => "knowledge_base.document";

    public static DocumentJson From(string knowledgeBaseId, DocumentInfo d) =>
        new(d.Id, knowledgeBaseId, d.Filename, d.Format, d.Chunks, d.Tokens, d.CreatedAt.ToUnixTimeSeconds());
}
