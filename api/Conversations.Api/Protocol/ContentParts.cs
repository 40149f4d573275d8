using System.Text;
using System.Text.Json;

namespace Conversations.Api;

/// <summary>
/// Reads message content, which OpenAI allows as a string or as an array of text parts. Parts
/// this gateway cannot yet carry (images, audio, files) are refused rather than silently dropped.
/// </summary>
public static class ContentParts
{
    private static readonly HashSet<string> TextPartTypes = new(StringComparer.Ordinal) { "text", "input_text", "output_text" };

    public static Result<string> ReadText(JsonElement? content, string param)
    {
        if (content is not { } element || element.ValueKind == JsonValueKind.Null)
        {
            return GatewayError.Invalid($"Missing required parameter: '{param}'.", param, "missing_required_parameter");
        }

        if (element.ValueKind == JsonValueKind.String)
        {
            return element.GetString()!;
        }

        if (element.ValueKind != JsonValueKind.Array)
        {
            return GatewayError.Invalid($"Invalid type for '{param}': expected a string or an array of content parts.", param, "invalid_type");
        }

        var text = new StringBuilder();
        var index = 0;
        foreach (var part in element.EnumerateArray())
        {
            var partParam = $"{param}[{index++}]";
            if (part.ValueKind != JsonValueKind.Object
                || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                return GatewayError.Invalid($"Invalid content part at '{partParam}': expected an object with a 'type'.", partParam, "invalid_type");
            }

            if (!TextPartTypes.Contains(type.GetString()!))
            {
                return GatewayError.Invalid($"Content parts of type '{type.GetString()}' are not supported; send text parts.", $"{partParam}.type", "unsupported_content_type");
            }

            if (!part.TryGetProperty("text", out var partText) || partText.ValueKind != JsonValueKind.String)
            {
                return GatewayError.Invalid($"Missing required parameter: '{partParam}.text'.", $"{partParam}.text", "missing_required_parameter");
            }

            text.Append(partText.GetString());
        }

        return text.ToString();
    }
}
