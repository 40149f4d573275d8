using System.Text.Json;
using Conversations.Media;

namespace Conversations.Api.Media;

/// <summary>
/// Reads one non-text content part in any of OpenAI's shapes: chat's <c>image_url</c>, <c>file</c> and <c>input_audio</c>;
/// the Responses API's <c>input_image</c> and <c>input_file</c>. Inline bytes (a <c>data:</c> URL or base64) are decoded,
/// checked against <see cref="MediaOptions.MaxPartBytes"/> and sniffed (<see cref="MediaSniffer"/>): what they are decides,
/// not what the client declares, and a mismatch is refused. A <c>file_id</c> is resolved later (<see cref="FileParts"/>).
/// Every refusal is a 400 that names the part.
/// </summary>
public static class MediaParts
{
    public static bool IsMediaPart(string type) => type is "image_url" or "input_image" or "file" or "input_file" or "input_audio";

    public static Result<ContentPart> Read(JsonElement part, string type, string param, MediaOptions media)
    {
        switch (type)
        {
            case "input_image":
                return Image(String(part, "image_url"), String(part, "file_id"), String(part, "detail"), param, media);
            case "input_file":
                return String(part, "file_url") is not null
                    ? GatewayError.Invalid($"Invalid '{param}.file_url': files by URL are not supported; send 'file_data' or a 'file_id'.", $"{param}.file_url", "unsupported_value")
                    : File(part, param, media);
        }

        // Chat's parts hold their fields in an object named after the type.
        if (!part.TryGetProperty(type, out var inner) || inner.ValueKind != JsonValueKind.Object)
        {
            return GatewayError.Invalid($"Missing required parameter: '{param}.{type}'.", $"{param}.{type}", "missing_required_parameter");
        }

        return type switch
        {
            "image_url" => Image(String(inner, "url"), null, String(inner, "detail"), $"{param}.image_url", media),
            "file" => File(inner, $"{param}.file", media),
            _ => Audio(inner, $"{param}.input_audio", media),
        };
    }

    /// <summary>
    /// An Anthropic <c>image</c> or <c>document</c> block: its <c>source</c> is <c>base64</c> (with <c>media_type</c>),
    /// <c>url</c> (images only, under the same rules as an OpenAI image URL) or <c>file</c> (a <c>file_id</c> of the Files API).
    /// </summary>
    public static Result<ContentPart> ReadAnthropic(JsonElement block, string type, string param, MediaOptions media)
    {
        var kind = type == "image" ? Modalities.Image : Modalities.File;
        if (!block.TryGetProperty("source", out var source) || source.ValueKind != JsonValueKind.Object)
        {
            return GatewayError.Invalid($"Missing required parameter: '{param}.source'.", $"{param}.source", "missing_required_parameter");
        }

        switch (String(source, "type"))
        {
            case "base64" when String(source, "data") is { } data:
                var inline = Decoded(data, String(source, "media_type")?.ToLowerInvariant(), kind, $"{param}.source.data", media);
                return inline.IsSuccess && String(block, "title") is { } title ? inline.Value with { Filename = title } : inline;
            case "url" when kind == Modalities.Image && String(source, "url") is { } url:
                return ImageAt(url, null, $"{param}.source.url", media);
            case "file" when String(source, "file_id") is { } fileId:
                return new ContentPart(kind, string.Empty, FileId: fileId, Param: $"{param}.source.file_id");
            default:
                return GatewayError.Invalid(
                    $"Invalid '{param}.source': expected {{\"type\":\"base64\",\"media_type\",\"data\"}}{(kind == Modalities.Image ? ", {\"type\":\"url\",\"url\"}" : string.Empty)} or {{\"type\":\"file\",\"file_id\"}}.",
                    $"{param}.source", "invalid_value");
        }
    }

    private static Result<ContentPart> Image(string? url, string? fileId, string? detail, string param, MediaOptions media)
    {
        if (detail is not (null or "auto" or "low" or "high"))
        {
            return GatewayError.Invalid($"Invalid value for '{param}.detail': expected one of 'auto', 'low', 'high'.", $"{param}.detail", "invalid_value");
        }

        if (fileId is not null)
        {
            return new ContentPart(Modalities.Image, string.Empty, FileId: fileId, Detail: detail, Param: $"{param}.file_id");
        }

        var urlParam = param.EndsWith(".image_url", StringComparison.Ordinal) ? $"{param}.url" : $"{param}.image_url";
        if (url is null)
        {
            return GatewayError.Invalid($"Missing required parameter: '{urlParam}'.", urlParam, "missing_required_parameter");
        }

        return ImageAt(url, detail, urlParam, media);
    }

    /// <summary>An image at <paramref name="url"/>: a base64 <c>data:</c> URL decoded, or an http(s) URL the settings accept, passed on.</summary>
    private static Result<ContentPart> ImageAt(string url, string? detail, string urlParam, MediaOptions media)
    {
        if (url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            var inline = Inline(url, Modalities.Image, urlParam, media);
            return inline.IsSuccess ? inline.Value with { Detail = detail } : inline.Error;
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var remote) || remote.Scheme is not ("http" or "https"))
        {
            return GatewayError.Invalid($"Invalid '{urlParam}': expected an http(s) URL or a base64 'data:' URL.", urlParam, "invalid_image_url");
        }

        if (!media.RemoteUrls || (media.RemoteHosts.Count > 0 && !media.RemoteHosts.Contains(remote.Host, StringComparer.OrdinalIgnoreCase)))
        {
            return GatewayError.Invalid(
                $"Invalid '{urlParam}': image URLs {(media.RemoteUrls ? $"from '{remote.Host}' are" : "are")} not accepted here; send the image as a base64 'data:' URL.",
                urlParam, "image_url_not_allowed");
        }

        return new ContentPart(Modalities.Image, "image/*", Url: remote.ToString(), Detail: detail, Param: urlParam);
    }

    private static Result<ContentPart> File(JsonElement file, string param, MediaOptions media)
    {
        var filename = String(file, "filename");
        if (String(file, "file_id") is { } fileId)
        {
            return new ContentPart(Modalities.File, string.Empty, FileId: fileId, Filename: filename, Param: $"{param}.file_id");
        }

        if (String(file, "file_data") is not { } data)
        {
            return GatewayError.Invalid($"Missing required parameter: '{param}.file_data' (or '{param}.file_id').", $"{param}.file_data", "missing_required_parameter");
        }

        var inline = data.StartsWith("data:", StringComparison.OrdinalIgnoreCase)
            ? Inline(data, Modalities.File, $"{param}.file_data", media)
            : Decoded(data, null, Modalities.File, $"{param}.file_data", media);
        return inline.IsSuccess ? inline.Value with { Filename = filename } : inline.Error;
    }

    private static Result<ContentPart> Audio(JsonElement audio, string param, MediaOptions media)
    {
        var format = String(audio, "format");
        if (format is not ("wav" or "mp3"))
        {
            return GatewayError.Invalid($"Invalid value for '{param}.format': expected one of 'wav', 'mp3'.", $"{param}.format", "invalid_value");
        }

        return String(audio, "data") is { } data
            ? Decoded(data, format == "wav" ? MediaSniffer.Wav : MediaSniffer.Mp3, Modalities.Audio, $"{param}.data", media)
            : GatewayError.Invalid($"Missing required parameter: '{param}.data'.", $"{param}.data", "missing_required_parameter");
    }

    /// <summary>A <c>data:</c> URL: its declared type and base64 bytes.</summary>
    private static Result<ContentPart> Inline(string url, string kind, string param, MediaOptions media)
    {
        var comma = url.IndexOf(',');
        var header = comma < 0 ? string.Empty : url[5..comma];
        if (comma < 0 || !header.EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
        {
            return GatewayError.Invalid($"Invalid '{param}': expected a base64 'data:' URL (data:<type>;base64,<data>).", param, "invalid_data_url");
        }

        var declared = header[..^";base64".Length].Trim().ToLowerInvariant();
        return Decoded(url[(comma + 1)..], declared.Length == 0 ? null : declared, kind, param, media);
    }

    /// <summary>Base64 bytes, decoded, within the size limit, sniffed, and of the kind and (when declared) the type the part says.</summary>
    private static Result<ContentPart> Decoded(string base64, string? declared, string kind, string param, MediaOptions media)
    {
        if ((long)base64.Length / 4 * 3 > media.MaxPartBytes + 3)
        {
            return TooLarge(param, media);
        }

        var bytes = new byte[base64.Length / 4 * 3 + 3];
        if (!Convert.TryFromBase64String(base64, bytes, out var length))
        {
            return GatewayError.Invalid($"Invalid '{param}': the data is not valid base64.", param, "invalid_base64");
        }

        if (length > media.MaxPartBytes)
        {
            return TooLarge(param, media);
        }

        var data = bytes.AsSpan(0, length).ToArray();
        if (MediaSniffer.Sniff(data) is not { } sniffed || sniffed.Kind != kind)
        {
            var what = kind switch { Modalities.Image => "a PNG, JPEG, GIF or WebP image", Modalities.Audio => "WAV or MP3 audio", _ => "a PDF or UTF-8 text file" };
            return GatewayError.Invalid(
                $"Invalid '{param}': the data is {(MediaSniffer.Sniff(data) is { } other ? other.MediaType : "of no supported type")}; expected {what}.", param, "unsupported_content_type");
        }

        if (declared is not null && declared != "application/octet-stream" && Normalized(declared) != sniffed.MediaType)
        {
            return GatewayError.Invalid($"Invalid '{param}': it declares '{declared}' but the data is {sniffed.MediaType}.", param, "content_type_mismatch");
        }

        return new ContentPart(kind, sniffed.MediaType, data.Length, data, ContentAddress.Of(data), Width: sniffed.Width, Height: sniffed.Height, Param: param);
    }

    private static string Normalized(string mediaType) => mediaType switch
    {
        "image/jpg" => MediaSniffer.Jpeg,
        "audio/x-wav" or "audio/wave" => MediaSniffer.Wav,
        "audio/mp3" => MediaSniffer.Mp3,
        _ => mediaType,
    };

    private static GatewayError TooLarge(string param, MediaOptions media) => GatewayError.Invalid(
        $"Invalid '{param}': the content is larger than {media.MaxPartBytes} bytes, the most one part may carry.", param, "content_too_large");

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
