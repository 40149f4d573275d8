using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Conversations.Providers;

/// <summary>
/// Translates the gateway's items and tools to Microsoft.Extensions.AI's chat types and back, so every
/// provider (OpenAI-compatible, Anthropic, simulated) sees the same messages. A model's function calls
/// and the text before them form one assistant message, as chat formats require: an assistant message
/// with tool calls must be followed directly by one tool message per call.
/// </summary>
public static class ChatMessages
{
    private static readonly JsonElement EmptyParameters = JsonDocument.Parse("""{"type":"object","properties":{}}""").RootElement.Clone();

    public static List<ChatMessage> From(IEnumerable<NewItem> items)
    {
        var messages = new List<ChatMessage>();
        foreach (var item in items)
        {
            if (item.Call is { } call)
            {
                var content = new FunctionCallContent(call.CallId, call.Name, Arguments(call.Arguments));
                if (messages.Count > 0 && messages[^1].Role == ChatRole.Assistant && !messages[^1].Contents.OfType<FunctionResultContent>().Any())
                {
                    messages[^1].Contents.Add(content);
                }
                else
                {
                    messages.Add(new ChatMessage(ChatRole.Assistant, [content]));
                }

                continue;
            }

            messages.Add(item.CallId is { } callId
                ? new ChatMessage(ChatRole.Tool, [new FunctionResultContent(callId, item.Text)])
                : new ChatMessage(Role(item.Role), item.Text));
        }

        return messages;
    }

    /// <summary>The request's tools and tool choice as chat options (unchanged when it offers none).</summary>
    public static void AddTools(ChatOptions options, CompletionRequest request)
    {
        if (request.Tools is not { Count: > 0 } tools)
        {
            return;
        }

        options.Tools = [.. tools.Select(tool => (AITool)AIFunctionFactory.CreateDeclaration(
            tool.Name, tool.Description, tool.Parameters is { } schema ? JsonDocument.Parse(schema).RootElement.Clone() : EmptyParameters))];
        options.ToolMode = request.ToolChoice switch
        {
            { Function: { } function } => ChatToolMode.RequireSpecific(function),
            { Mode: ToolChoice.None } => ChatToolMode.None,
            { Mode: ToolChoice.Required } => ChatToolMode.RequireAny,
            _ => ChatToolMode.Auto,
        };
        options.AllowMultipleToolCalls = request.ParallelToolCalls;
    }

    /// <summary>The answer's format as chat options take it: any JSON object, or JSON following a schema.</summary>
    public static ChatResponseFormat? Format(OutputFormat? format) => format switch
    {
        { Type: OutputFormat.JsonSchemaType, Schema: { } schema } =>
            ChatResponseFormat.ForJsonSchema(JsonDocument.Parse(schema).RootElement.Clone(), format.Name, format.Description),
        { Type: OutputFormat.JsonObjectType or OutputFormat.JsonSchemaType } => ChatResponseFormat.Json,
        _ => null,
    };

    /// <summary>The function calls among a response's contents, with their arguments as JSON text.</summary>
    public static IEnumerable<FunctionCall> Calls(IEnumerable<AIContent> contents) =>
        contents.OfType<FunctionCallContent>().Select(call => new FunctionCall(
            call.CallId, call.Name, JsonSerializer.Serialize(call.Arguments ?? new Dictionary<string, object?>(), AIJsonUtilities.DefaultOptions)));

    /// <summary>A message's text as a plain-text model reads it: its text, a call's name and arguments, or a tool's output.</summary>
    public static string Text(ChatMessage message) => string.Concat(message.Contents.Select(content => content switch
    {
        TextContent text => text.Text,
        FunctionCallContent call => $"{call.Name}({JsonSerializer.Serialize(call.Arguments, AIJsonUtilities.DefaultOptions)})",
        FunctionResultContent result => result.Result?.ToString(),
        _ => null,
    }));

    public static IDictionary<string, object?> Arguments(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, object?>>(json, AIJsonUtilities.DefaultOptions) ?? [];
        }
        catch (JsonException)
        {
            return new Dictionary<string, object?>(); // validated at the API; a model's malformed arguments are passed on as empty
        }
    }

    private static ChatRole Role(string role) => role switch
    {
        Roles.Assistant => ChatRole.Assistant,
        Roles.System or Roles.Developer => ChatRole.System,
        _ => ChatRole.User,
    };
}
