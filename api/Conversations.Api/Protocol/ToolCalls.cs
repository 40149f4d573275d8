using System.Text.Json;
using System.Text.RegularExpressions;

namespace Conversations.Api;

/// <summary>
/// Reads function tools, <c>tool_choice</c> and function calls as the two OpenAI APIs send them: Chat
/// Completions nests a tool's fields under <c>function</c>, the Responses API does not. Function tools are
/// supported, and in the Responses API <c>mcp</c> tools (<see cref="Mcp.HostedMcpServer"/>); other hosted tools
/// (web search, file search, …) are refused by type.
/// </summary>
public static partial class ToolCalls
{
    public const int MaxTools = 128;

    /// <param name="hosted">When given (the Responses API), tools of type <c>mcp</c> are added to it instead of being refused.</param>
    public static Result<(List<ToolDefinition>? Tools, ToolChoice? Choice)> Read(
        JsonElement? tools, JsonElement? choice, bool nested, List<Mcp.HostedMcpServer>? hosted = null)
    {
        var definitions = new List<ToolDefinition>();
        if (tools is { ValueKind: not JsonValueKind.Null } array)
        {
            if (array.ValueKind != JsonValueKind.Array)
            {
                return GatewayError.Invalid("Invalid type for 'tools': expected an array of tools.", "tools", "invalid_type");
            }

            if (array.GetArrayLength() > MaxTools)
            {
                return GatewayError.Invalid($"Invalid 'tools': at most {MaxTools} tools may be sent.", "tools", "array_above_max_length");
            }

            var index = 0;
            foreach (var tool in array.EnumerateArray())
            {
                if (hosted is not null && tool.ValueKind == JsonValueKind.Object && String(tool, "type") == Mcp.HostedMcpServer.Type)
                {
                    var server = Mcp.HostedMcpServer.Read(tool, $"tools[{index}]");
                    if (!server.IsSuccess || hosted.Exists(h => h.Label == server.Value.Label))
                    {
                        return server.Error ?? GatewayError.Invalid(
                            $"Invalid 'tools[{index}].server_label': the MCP server '{server.Value!.Label}' is given twice.", $"tools[{index}].server_label", "invalid_value");
                    }

                    hosted.Add(server.Value);
                    index++;
                    continue;
                }

                var read = ReadTool(tool, $"tools[{index++}]", nested);
                if (!read.IsSuccess)
                {
                    return read.Error;
                }

                if (definitions.Exists(d => d.Name == read.Value.Name))
                {
                    return GatewayError.Invalid($"Invalid 'tools': the function '{read.Value.Name}' is declared twice.", "tools", "invalid_value");
                }

                definitions.Add(read.Value);
            }
        }

        var toolChoice = ReadChoice(choice, nested, definitions, hosted is { Count: > 0 });
        if (!toolChoice.IsSuccess)
        {
            return toolChoice.Error;
        }

        return (definitions.Count > 0 ? definitions : null, toolChoice.Value);
    }

    public static GatewayError? CheckCallId(string? callId, string param) =>
        string.IsNullOrEmpty(callId) ? GatewayError.Invalid($"Missing required parameter: '{param}'.", param, "missing_required_parameter")
        : callId.Length > 128 ? GatewayError.Invalid($"Invalid '{param}': at most 128 characters.", param, "string_above_max_length")
        : null;

    /// <summary>OpenAI's rule for function and schema names: 1 to 64 letters, digits, underscores or dashes.</summary>
    public static bool IsName(string? name) => name is not null && FunctionName().IsMatch(name);

    public static GatewayError? CheckName(string? name, string param) =>
        name is null ? GatewayError.Invalid($"Missing required parameter: '{param}'.", param, "missing_required_parameter")
        : !IsName(name) ? GatewayError.Invalid($"Invalid '{param}': a function name is 1 to 64 letters, digits, underscores or dashes.", param, "invalid_value")
        : null;

    /// <summary>A call's arguments: JSON text of an object, as models write them.</summary>
    public static Result<string> ReadArguments(string? arguments, string param)
    {
        if (arguments is null)
        {
            return GatewayError.Invalid($"Missing required parameter: '{param}' (a string of JSON).", param, "missing_required_parameter");
        }

        try
        {
            using var document = JsonDocument.Parse(arguments);
            return document.RootElement.ValueKind == JsonValueKind.Object
                ? arguments
                : GatewayError.Invalid($"Invalid '{param}': expected a JSON object.", param, "invalid_value");
        }
        catch (JsonException)
        {
            return GatewayError.Invalid($"Invalid '{param}': not valid JSON.", param, "invalid_value");
        }
    }

    private static Result<ToolDefinition> ReadTool(JsonElement tool, string param, bool nested)
    {
        if (tool.ValueKind != JsonValueKind.Object || !tool.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
        {
            return GatewayError.Invalid($"Invalid '{param}': expected an object with a 'type'.", param, "invalid_type");
        }

        if (!type.ValueEquals("function"))
        {
            return GatewayError.Invalid($"Tools of type '{type.GetString()}' are not supported; send function tools.", $"{param}.type", "unsupported_value");
        }

        var function = tool;
        if (nested)
        {
            param += ".function";
            if (!tool.TryGetProperty("function", out function) || function.ValueKind != JsonValueKind.Object)
            {
                return GatewayError.Invalid($"Missing required parameter: '{param}'.", param, "missing_required_parameter");
            }
        }

        var name = String(function, "name");
        if (CheckName(name, $"{param}.name") is { } invalid)
        {
            return invalid;
        }

        string? parameters = null;
        if (function.TryGetProperty("parameters", out var schema) && schema.ValueKind != JsonValueKind.Null)
        {
            if (schema.ValueKind != JsonValueKind.Object)
            {
                return GatewayError.Invalid($"Invalid type for '{param}.parameters': expected a JSON Schema object.", $"{param}.parameters", "invalid_type");
            }

            parameters = schema.GetRawText();
        }

        bool? strict = null;
        if (function.TryGetProperty("strict", out var strictness) && strictness.ValueKind != JsonValueKind.Null)
        {
            if (strictness.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                return GatewayError.Invalid($"Invalid type for '{param}.strict': expected a boolean.", $"{param}.strict", "invalid_type");
            }

            strict = strictness.GetBoolean();
        }

        return new ToolDefinition(name!, String(function, "description"), parameters, strict);
    }

    private static Result<ToolChoice?> ReadChoice(JsonElement? choice, bool nested, List<ToolDefinition> tools, bool hostedTools)
    {
        switch (choice)
        {
            case null or { ValueKind: JsonValueKind.Null }:
                return (ToolChoice?)null;
            case { ValueKind: JsonValueKind.String } mode when mode.GetString() is ToolChoice.Auto or ToolChoice.None or ToolChoice.Required:
                return mode.GetString() != ToolChoice.None && tools.Count == 0 && !hostedTools
                    ? GatewayError.Invalid("Invalid 'tool_choice': no tools were given.", "tool_choice", "invalid_value")
                    : new ToolChoice(mode.GetString()!);
            case { ValueKind: JsonValueKind.Object } named when String(named, "type") == "function":
                var name = nested ? (named.TryGetProperty("function", out var function) ? String(function, "name") : null) : String(named, "name");
                return tools.Exists(t => t.Name == name)
                    ? new ToolChoice(ToolChoice.Required, name)
                    : GatewayError.Invalid($"Invalid 'tool_choice': no function named '{name}' is in 'tools'.", "tool_choice", "invalid_value");
            default:
                return GatewayError.Invalid("Invalid 'tool_choice': expected 'none', 'auto', 'required' or a function.", "tool_choice", "invalid_value");
        }
    }

    private static string? String(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex FunctionName();
}
