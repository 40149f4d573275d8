using System.Text;
using System.Text.Json;
using Conversations.Api.Media;
using Conversations.Media;

namespace Conversations.Api;

/// <summary>
/// Reads message content, which OpenAI allows as a string or as an array of parts. <see cref="ReadText"/> takes text
/// parts only (a tool's output, a system message); <see cref="Read"/> also takes images, files and audio
/// (<see cref="MediaParts"/>) where <paramref name="media"/> allows them. Text parts are joined; the other parts follow it.
/// </summary>
public static class ContentParts
{
    private static readonly HashSet<string> TextPartTypes = new(StringComparer.Ordinal) { "text", "input_text", "output_text" };

    public static Result<string> ReadText(JsonElement? content, string param)
    {
        var read = Read(content, param, null);
        return read.IsSuccess ? read.Value.Text : read.Error;
    }

    /// <summary>The content's text and its other parts; <paramref name="media"/> null refuses every part that is not text.</summary>
    public static Result<MessageContent> Read(JsonElement? content, string param, MediaOptions? media)
    {
        if (content is not { } element || element.ValueKind == JsonValueKind.Null)
        {
            return GatewayError.Invalid($"Missing required parameter: '{param}'.", param, "missing_required_parameter");
        }

        if (element.ValueKind == JsonValueKind.String)
        {
            return new MessageContent(element.GetString()!, null);
        }

        if (element.ValueKind != JsonValueKind.Array)
        {
            return GatewayError.Invalid($"Invalid type for '{param}': expected a string or an array of content parts.", param, "invalid_type");
        }

        var text = new StringBuilder();
        List<ContentPart>? parts = null;
        var index = 0;
        foreach (var part in element.EnumerateArray())
        {
            var partParam = $"{param}[{index++}]";
            if (part.ValueKind != JsonValueKind.Object
                || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                return GatewayError.Invalid($"Invalid content part at '{partParam}': expected an object with a 'type'.", partParam, "invalid_type");
            }

            if (media is not null && MediaParts.IsMediaPart(type.GetString()!))
            {
                var read = MediaParts.Read(part, type.GetString()!, partParam, media);
                if (!read.IsSuccess)
                {
                    return read.Error;
                }

                (parts ??= []).Add(read.Value);
                continue;
            }

            if (!TextPartTypes.Contains(type.GetString()!))
            {
                return GatewayError.Invalid(
                    $"Content parts of type '{type.GetString()}' are not supported here; send text parts{(media is null && MediaParts.IsMediaPart(type.GetString()!) ? " (images, files and audio are taken in user messages)" : string.Empty)}.",
                    $"{partParam}.type", "unsupported_content_type");
            }

            if (!part.TryGetProperty("text", out var partText) || partText.ValueKind != JsonValueKind.String)
            {
                return GatewayError.Invalid($"Missing required parameter: '{partParam}.text'.", $"{partParam}.text", "missing_required_parameter");
            }

            text.Append(partText.GetString());
        }

        return new MessageContent(text.ToString(), parts);
    }
}

/// <summary>A message's content: its text, and its images, files and audio (null when it has none).</summary>
public sealed record MessageContent(string Text, IReadOnlyList<ContentPart>? Parts);
