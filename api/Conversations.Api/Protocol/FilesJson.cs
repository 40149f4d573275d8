using Conversations.Media;

namespace Conversations.Api;

/// <summary>OpenAI's file object (no <c>expires_at</c>: files here do not expire).</summary>
public sealed record FileJson(string Id, long Bytes, long CreatedAt, string Filename, string Purpose)
{
    public string Object => "file";

    public string Status => "processed";

    public static FileJson From(StoredFile file) => new(file.Id, file.Bytes, file.CreatedAt.ToUnixTimeSeconds(), file.Filename, file.Purpose);
}
