using System.Text.Json.Nodes;

namespace Conversations.SimulatedUpstream;

/// <summary>
/// What the last user message of a request carried beside text, described as the simulated model lists it (kind, media
/// type, decoded size): OpenAI's <c>image_url</c>, <c>file</c> and <c>input_audio</c> parts, Anthropic's <c>image</c> and
/// <c>document</c> blocks. So a test sees images and files arrive in each provider's own shape.
/// </summary>
internal static class ReceivedParts
{
    public static List<string> Of(JsonArray? messages) =>
        messages?.LastOrDefault(m => m?["role"]?.GetValue<string>() == "user")?["content"] is JsonArray parts
            ? [.. parts.Select(Describe).OfType<string>()]
            : [];

    private static string? Describe(JsonNode? part) => part?["type"]?.GetValue<string>() switch
    {
        "image_url" => Url("image", part["image_url"]?["url"]?.GetValue<string>()),
        "file" => Url("file", part["file"]?["file_data"]?.GetValue<string>()),
        "input_audio" => Sized("audio", "audio/" + part["input_audio"]?["format"]?.GetValue<string>(), part["input_audio"]?["data"]?.GetValue<string>()),
        "image" or "document" => Source(part["type"]!.GetValue<string>() == "image" ? "image" : "file", part["source"]),
        _ => null,
    };

    private static string Url(string kind, string? url)
    {
        if (url is null || !url.StartsWith("data:", StringComparison.Ordinal) || url.IndexOf(',') is var comma && comma < 0)
        {
            return $"[{kind} {url}]";
        }

        return Sized(kind, url[5..comma].Replace(";base64", string.Empty, StringComparison.Ordinal), url[(comma + 1)..]);
    }

    private static string Source(string kind, JsonNode? source) => source?["type"]?.GetValue<string>() switch
    {
        "base64" => Sized(kind, source["media_type"]?.GetValue<string>(), source["data"]?.GetValue<string>()),
        "text" => $"[{kind} {source["media_type"]?.GetValue<string>()} {System.Text.Encoding.UTF8.GetByteCount(source["data"]?.GetValue<string>() ?? string.Empty)} bytes]",
        _ => $"[{kind} {source?["url"]?.GetValue<string>()}]",
    };

    private static string Sized(string kind, string? mediaType, string? base64) =>
        $"[{kind} {mediaType} {(base64 is null ? 0 : Convert.FromBase64String(base64).Length)} bytes]";
}
