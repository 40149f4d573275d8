namespace Conversations.Api.Media;

/// <summary>
/// Limits on images, files and audio that clients send (<c>Conversations:Media</c>). Remote image URLs are passed on to
/// the provider and never fetched by the gateway; <see cref="RemoteUrls"/> can refuse them, or accept only
/// <see cref="RemoteHosts"/>. Inline bytes (<c>data:</c> URLs, base64) and uploads are decoded and sniffed.
/// </summary>
public sealed class MediaOptions
{
    public const string Section = "Conversations:Media";

    /// <summary>The largest decoded part (an image, a file, audio) a request may carry inline.</summary>
    public long MaxPartBytes { get; set; } = 5 * 1024 * 1024;

    /// <summary>The largest file <c>POST /v1/files</c> accepts (the request body as a whole stays under the API's limit).</summary>
    public long MaxFileBytes { get; set; } = 7 * 1024 * 1024;

    /// <summary>Whether a remote <c>http(s)</c> image URL may be passed on to the provider (the provider fetches it, the gateway never does).</summary>
    public bool RemoteUrls { get; set; } = true;

    /// <summary>When not empty, the only hosts a remote image URL may name (exact host names, case-insensitive).</summary>
    public List<string> RemoteHosts { get; set; } = [];

    public static MediaOptions Default { get; } = new();
}
