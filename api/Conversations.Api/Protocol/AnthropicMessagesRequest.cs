using System.Text.Json;

namespace Conversations.Api;

/// <summary>
/// Translates a Messages API request into the gateway's <see cref="CompletionRequest"/>, the one chat completions
/// make, so routing, quotas, fallback, usage and the cache see no difference. <c>system</c> becomes a leading system
/// message; a turn's <c>text</c> blocks its message, its <c>tool_use</c> blocks function calls and its
/// <c>tool_result</c> blocks their outputs, its <c>image</c> and <c>document</c> blocks the message's media parts (as
/// chat's <c>image_url</c> and <c>file</c> parts are). Anything this gateway cannot pass on faithfully (thinking, server
/// tools, <c>top_k</c>) is refused with a 400 naming the field, never dropped.
/// </summary>
public static class AnthropicMessagesRequest
{
    /// <summary>A request to answer: <paramref name="forCounting"/> reads what <c>count_tokens</c> takes (no <c>max_tokens</c>).</summary>
    public static Result<CompletionRequest> Read(MessageCreateJson body, Media.MediaOptions media, bool forCounting = false)
    {
        if (string.IsNullOrWhiteSpace(body.Model))
        {
            return Missing("model");
        }

        if (!forCounting && body.MaxTokens is null)
        {
            return Missing("max_tokens");
        }

        if (body.Messages is not { Count: > 0 } messages)
        {
            return Missing("messages");
        }

        if (Unsupported(body) is { } unsupported)
        {
            return unsupported;
        }

        var tools = ReadTools(body.Tools, body.ToolChoice);
        if (!tools.IsSuccess)
        {
            return tools.Error;
        }

        var items = new List<NewItem>();
        var system = ReadText(body.System, "system");
        if (!system.IsSuccess)
        {
            return system.Error;
        }

        if (system.Value is { Length: > 0 } instructions)
        {
            items.Add(new NewItem(Roles.System, instructions));
        }

        for (var i = 0; i < messages.Count; i++)
        {
            var read = ReadMessage(messages[i], $"messages.{i}", media);
            if (!read.IsSuccess)
            {
                return read.Error;
            }

            items.AddRange(read.Value);
        }

        return new CompletionRequest(body.Model, items, body.Temperature, body.MaxTokens, body.TopP, body.Metadata?.UserId)
        {
            Tools = tools.Value.Tools,
            ToolChoice = tools.Value.Choice,
            ParallelToolCalls = tools.Value.Parallel,
            StopSequences = body.StopSequences is { Count: > 0 } stop ? stop : null,
        };
    }

    /// <summary>Anthropic's stop reason for the gateway's finish reason.</summary>
    public static string StopReason(string finishReason) => finishReason switch
    {
        "length" => "max_tokens",
        "tool_calls" => "tool_use",
        "content_filter" => "refusal",
        _ => "end_turn",
    };

    private static GatewayError? Unsupported(MessageCreateJson body)
    {
        if (body.MaxTokens is < 1 or > Sampling.MaxOutputTokens)
        {
            return Invalid($"max_tokens: expected an integer from 1 to {Sampling.MaxOutputTokens}.", "max_tokens");
        }

        if (body.Temperature is < 0 or > 1 || (body.Temperature is { } t && float.IsNaN(t)))
        {
            return Invalid("temperature: expected a number between 0 and 1.", "temperature");
        }

        if (body.TopP is < 0 or > 1 || (body.TopP is { } p && float.IsNaN(p)))
        {
            return Invalid("top_p: expected a number between 0 and 1.", "top_p");
        }

        if (body.TopK is not null)
        {
            return Invalid("top_k: not supported by this gateway; use temperature or top_p.", "top_k");
        }

        if (body.Thinking is { ValueKind: not JsonValueKind.Null })
        {
            return Invalid("thinking: extended thinking is not supported by this gateway.", "thinking");
        }

        if (body.StopSequences is { } stop && (stop.Count > 8 || stop.Exists(s => string.IsNullOrEmpty(s))))
        {
            return Invalid("stop_sequences: at most 8 non-empty strings.", "stop_sequences");
        }

        return body.Metadata?.UserId is { Length: > Endpoints.ApiServices.MaxEndUserLength } user
            ? Invalid($"metadata.user_id: at most {Endpoints.ApiServices.MaxEndUserLength} characters, got {user.Length}.", "metadata.user_id")
            : null;
    }

    /// <summary>One message: a user turn's tool results (outputs) then its text; an assistant turn's text then its calls.</summary>
    private static Result<List<NewItem>> ReadMessage(AnthropicMessageJson? message, string param, Media.MediaOptions media)
    {
        if (message?.Role is not (Roles.User or Roles.Assistant) || message.Role is not { } role)
        {
            return Invalid($"{param}.role: expected 'user' or 'assistant'.", $"{param}.role");
        }

        if (message.Content is not { ValueKind: JsonValueKind.String or JsonValueKind.Array } content)
        {
            return Invalid($"{param}.content: expected a string or an array of content blocks.", $"{param}.content");
        }

        if (content.ValueKind == JsonValueKind.String)
        {
            return new List<NewItem> { new(role, content.GetString()!) };
        }

        var outputs = new List<NewItem>();
        var calls = new List<NewItem>();
        var texts = new List<string>();
        var parts = new List<Conversations.Media.ContentPart>();
        var index = 0;
        foreach (var block in content.EnumerateArray())
        {
            var blockParam = $"{param}.content.{index++}";
            switch (String(block, "type"))
            {
                case "text":
                    texts.Add(String(block, "text") ?? string.Empty);
                    break;
                case "image" or "document" when role == Roles.User:
                    var part = Media.MediaParts.ReadAnthropic(block, String(block, "type")!, blockParam, media);
                    if (!part.IsSuccess)
                    {
                        return part.Error;
                    }

                    parts.Add(part.Value);
                    break;
                case "tool_use" when role == Roles.Assistant:
                    var call = ReadCall(block, blockParam);
                    if (!call.IsSuccess)
                    {
                        return call.Error;
                    }

                    calls.Add(NewItem.CallOf(call.Value));
                    break;
                case "tool_result" when role == Roles.User:
                    var id = String(block, "tool_use_id");
                    if (ToolCalls.CheckCallId(id, $"{blockParam}.tool_use_id") is { } invalidId)
                    {
                        return invalidId;
                    }

                    var output = ReadText(block.TryGetProperty("content", out var result) ? result : null, $"{blockParam}.content");
                    if (!output.IsSuccess)
                    {
                        return output.Error;
                    }

                    var isError = block.TryGetProperty("is_error", out var flag) && flag.ValueKind == JsonValueKind.True;
                    outputs.Add(NewItem.OutputOf(id!, isError ? "Error: " + output.Value : output.Value));
                    break;
                case var type:
                    return Invalid(
                        $"{blockParam}.type: '{type}' blocks are not supported here; a user turn takes text, image, document and tool_result blocks, an assistant turn text and tool_use blocks.",
                        $"{blockParam}.type");
            }
        }

        List<NewItem> items = [.. outputs];
        if (texts.Count > 0 || parts.Count > 0 || (outputs.Count == 0 && calls.Count == 0))
        {
            items.Add(new NewItem(role, string.Join("\n\n", texts), Parts: parts.Count > 0 ? parts : null));
        }

        items.AddRange(calls);
        return items;
    }

    private static Result<FunctionCall> ReadCall(JsonElement block, string param)
    {
        var id = String(block, "id");
        var name = String(block, "name");
        if ((ToolCalls.CheckCallId(id, $"{param}.id") ?? ToolCalls.CheckName(name, $"{param}.name")) is { } invalid)
        {
            return invalid;
        }

        return block.TryGetProperty("input", out var input) && input.ValueKind == JsonValueKind.Object
            ? new FunctionCall(id!, name!, input.GetRawText())
            : Invalid($"{param}.input: expected an object.", $"{param}.input");
    }

    /// <summary>Text given as a string or as an array of text blocks (system prompts, tool results).</summary>
    private static Result<string> ReadText(JsonElement? value, string param)
    {
        switch (value)
        {
            case null or { ValueKind: JsonValueKind.Null }:
                return string.Empty;
            case { ValueKind: JsonValueKind.String } text:
                return text.GetString()!;
            case { ValueKind: JsonValueKind.Array } blocks:
                var parts = new List<string>();
                var index = 0;
                foreach (var block in blocks.EnumerateArray())
                {
                    if (String(block, "type") != "text" || String(block, "text") is not { } part)
                    {
                        return Invalid($"{param}.{index}: only text blocks are supported here.", $"{param}.{index}");
                    }

                    parts.Add(part);
                    index++;
                }

                return string.Join("\n\n", parts);
            default:
                return Invalid($"{param}: expected a string or an array of text blocks.", param);
        }
    }

    private static Result<(List<ToolDefinition>? Tools, ToolChoice? Choice, bool? Parallel)> ReadTools(JsonElement? tools, JsonElement? choice)
    {
        var definitions = new List<ToolDefinition>();
        if (tools is { ValueKind: not JsonValueKind.Null } array)
        {
            if (array.ValueKind != JsonValueKind.Array || array.GetArrayLength() > ToolCalls.MaxTools)
            {
                return Invalid($"tools: expected an array of at most {ToolCalls.MaxTools} tools.", "tools");
            }

            var index = 0;
            foreach (var tool in array.EnumerateArray())
            {
                var param = $"tools.{index++}";
                if (String(tool, "type") is { } type && type != "custom")
                {
                    return Invalid($"{param}.type: server tools ('{type}') are not supported; send custom tools (name, description, input_schema).", $"{param}.type");
                }

                var name = String(tool, "name");
                if (ToolCalls.CheckName(name, $"{param}.name") is not null || definitions.Exists(d => d.Name == name))
                {
                    return Invalid($"{param}.name: a tool name is 1 to 64 letters, digits, underscores or dashes, and unique.", $"{param}.name");
                }

                if (!tool.TryGetProperty("input_schema", out var schema) || schema.ValueKind != JsonValueKind.Object)
                {
                    return Invalid($"{param}.input_schema: Field required (a JSON Schema object).", $"{param}.input_schema");
                }

                definitions.Add(new ToolDefinition(name!, String(tool, "description"), schema.GetRawText()));
            }
        }

        if (choice is not { ValueKind: JsonValueKind.Object } toolChoice)
        {
            return choice is null or { ValueKind: JsonValueKind.Null }
                ? (definitions.Count > 0 ? definitions : null, null, null)
                : Invalid("tool_choice: expected an object with a 'type'.", "tool_choice");
        }

        var chosen = String(toolChoice, "name");
        ToolChoice? mode = String(toolChoice, "type") switch
        {
            "auto" => new ToolChoice(ToolChoice.Auto),
            "any" => new ToolChoice(ToolChoice.Required),
            "none" => new ToolChoice(ToolChoice.None),
            "tool" when definitions.Exists(d => d.Name == chosen) => new ToolChoice(ToolChoice.Required, chosen),
            _ => null,
        };
        if (mode is null || (mode.Mode != ToolChoice.None && definitions.Count == 0))
        {
            return Invalid("tool_choice: expected type 'auto', 'any', 'none', or 'tool' with the name of one of 'tools'.", "tool_choice");
        }

        bool? parallel = toolChoice.TryGetProperty("disable_parallel_tool_use", out var disable) && disable.ValueKind == JsonValueKind.True ? false : null;
        return (definitions.Count > 0 ? definitions : null, mode, parallel);
    }

    private static GatewayError Missing(string field) => Invalid($"{field}: Field required", field, "missing_required_parameter");

    private static GatewayError Invalid(string message, string param, string code = "invalid_value") => GatewayError.Invalid(message, param, code);

    private static string? String(JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}
