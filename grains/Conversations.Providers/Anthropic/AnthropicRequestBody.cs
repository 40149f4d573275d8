using System.Buffers;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Conversations.Providers.Anthropic;

/// <summary>A Messages API request body: the conversation, sampling, the JSON format asked for in the system prompt, tools.</summary>
internal static class AnthropicRequestBody
{
    public static byte[] Write(IEnumerable<ChatMessage> messages, ChatOptions? options, bool stream, string model, int defaultMaxTokens)
    {
        var (system, turns) = AnthropicConversation.From(messages);
        if (options?.ResponseFormat is ChatResponseFormatJson format)
        {
            // The Messages API has no JSON mode: the format is asked for in the system prompt.
            var instruction = "Respond with one JSON object and nothing else."
                + (format.Schema is { } schema ? $" It must follow this JSON Schema ({format.SchemaName ?? "answer"}): {schema.GetRawText()}" : string.Empty);
            system = system is null ? instruction : system + "\n\n" + instruction;
        }
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("model", options?.ModelId ?? model);
            json.WriteNumber("max_tokens", options?.MaxOutputTokens ?? defaultMaxTokens);
            if (system is not null)
            {
                json.WriteString("system", system);
            }

            json.WriteStartArray("messages");
            foreach (var turn in turns)
            {
                json.WriteStartObject();
                json.WriteString("role", turn.Role);
                turn.WriteContent(json);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            if (options?.Temperature is { } temperature)
            {
                json.WriteNumber("temperature", temperature);
            }

            if (options?.TopP is { } topP)
            {
                json.WriteNumber("top_p", topP);
            }

            if (options?.StopSequences is { Count: > 0 } stopSequences)
            {
                json.WriteStartArray("stop_sequences");
                foreach (var sequence in stopSequences)
                {
                    json.WriteStringValue(sequence);
                }

                json.WriteEndArray();
            }

            WriteTools(json, options);
            json.WriteBoolean("stream", stream);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Function tools as Anthropic declares them (<c>input_schema</c>), and the tool choice (<c>auto</c>, <c>any</c>, <c>tool</c>, <c>none</c>).</summary>
    private static void WriteTools(Utf8JsonWriter json, ChatOptions? options)
    {
        if (options?.Tools is not { Count: > 0 } tools)
        {
            return;
        }

        json.WriteStartArray("tools");
        foreach (var tool in tools.OfType<AIFunctionDeclaration>())
        {
            json.WriteStartObject();
            json.WriteString("name", tool.Name);
            if (tool.Description is { Length: > 0 } description)
            {
                json.WriteString("description", description);
            }

            json.WritePropertyName("input_schema");
            tool.JsonSchema.WriteTo(json);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartObject("tool_choice");
        json.WriteString("type", options.ToolMode switch
        {
            RequiredChatToolMode { RequiredFunctionName: not null } => "tool",
            RequiredChatToolMode => "any",
            NoneChatToolMode => "none",
            _ => "auto",
        });
        if (options.ToolMode is RequiredChatToolMode { RequiredFunctionName: { } name })
        {
            json.WriteString("name", name);
        }

        if (options.AllowMultipleToolCalls == false)
        {
            json.WriteBoolean("disable_parallel_tool_use", true);
        }

        json.WriteEndObject();
    }
}
