using System.Text.Json;

namespace Conversations.Api;

/// <summary>
/// Reads the answer's format as the two OpenAI APIs send it: Chat Completions' <c>response_format</c>
/// nests a schema under <c>json_schema</c>; the Responses API's <c>text.format</c> does not.
/// </summary>
public static class OutputFormats
{
    public static Result<OutputFormat?> Read(JsonElement? format, string param, bool nested)
    {
        if (format is not { ValueKind: not JsonValueKind.Null } element)
        {
            return (OutputFormat?)null;
        }

        if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
        {
            return GatewayError.Invalid($"Invalid '{param}': expected an object with a 'type'.", param, "invalid_type");
        }

        switch (type.GetString())
        {
            case "text":
                return (OutputFormat?)null;
            case OutputFormat.JsonObjectType:
                return OutputFormat.JsonObject;
            case OutputFormat.JsonSchemaType:
                var schemaParam = nested ? $"{param}.json_schema" : param;
                var spec = element;
                if (nested && (!element.TryGetProperty("json_schema", out spec) || spec.ValueKind != JsonValueKind.Object))
                {
                    return GatewayError.Invalid($"Missing required parameter: '{schemaParam}'.", schemaParam, "missing_required_parameter");
                }

                var name = spec.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
                if (!ToolCalls.IsName(name))
                {
                    return GatewayError.Invalid(
                        $"Invalid '{schemaParam}.name': 1 to 64 letters, digits, underscores or dashes.", $"{schemaParam}.name", name is null ? "missing_required_parameter" : "invalid_value");
                }

                if (!spec.TryGetProperty("schema", out var schema) || schema.ValueKind != JsonValueKind.Object)
                {
                    return GatewayError.Invalid($"Invalid '{schemaParam}.schema': expected a JSON Schema object.", $"{schemaParam}.schema", "invalid_type");
                }

                return new OutputFormat(
                    OutputFormat.JsonSchemaType, name, schema.GetRawText(),
                    spec.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null,
                    spec.TryGetProperty("strict", out var s) && s.ValueKind is JsonValueKind.True or JsonValueKind.False ? s.GetBoolean() : null);
            default:
                return GatewayError.Invalid($"Invalid '{param}.type': expected 'text', 'json_object' or 'json_schema'.", $"{param}.type", "invalid_value");
        }
    }

    /// <summary>The Responses API's <c>text.format</c> as it echoes it.</summary>
    public static object ToJson(OutputFormat? format) => format switch
    {
        null => new { type = "text" },
        { Type: OutputFormat.JsonSchemaType } => new
        {
            type = format.Type,
            name = format.Name,
            schema = JsonElement.Parse(format.Schema!),
            description = format.Description,
            strict = format.Strict ?? false,
        },
        _ => new { type = format.Type },
    };
}
