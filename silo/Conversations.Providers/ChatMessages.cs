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
    /// <summary>Microsoft.Extensions.AI's JSON options, written compactly, as models write arguments.</summary>
    internal static readonly JsonSerializerOptions Compact = new(AIJsonUtilities.DefaultOptions) { WriteIndented = false };

    private static readonly JsonElement EmptyParameters = JsonElement.Parse("""{"type":"object","properties":{}}""");

    public static List<ChatMessage> From(IReadOnlyList<NewItem> items) =>
        Translate(items.Any(i => i.CallId is not null) ? OutputsAfterCalls([.. items]) : items);

    /// <summary>
    /// Each output moved to directly after the calls it answers (in call order), as Chat Completions requires: an
    /// output sent a turn later, or after a user message, would otherwise land where an upstream refuses it.
    /// </summary>
    private static List<NewItem> OutputsAfterCalls(List<NewItem> items)
    {
        var outputs = items.Where(i => i.CallId is not null).GroupBy(i => i.CallId!, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var calls = items.Where(i => i.Call is not null).Select(i => i.Call!.CallId).ToHashSet(StringComparer.Ordinal);
        var ordered = new List<NewItem>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i].CallId is { } answered && calls.Contains(answered))
            {
                continue; // placed after its call
            }

            ordered.Add(items[i]);
            if (items[i].Call is not null && (i + 1 == items.Count || items[i + 1].Call is null))
            {
                // The end of a run of calls: their outputs follow at once, in call order.
                var start = i;
                while (start > 0 && items[start - 1].Call is not null)
                {
                    start--;
                }

                ordered.AddRange(items[start..(i + 1)].Select(c => outputs.GetValueOrDefault(c.Call!.CallId)).OfType<NewItem>());
            }
        }

        return ordered;
    }

    private static List<ChatMessage> Translate(IReadOnlyList<NewItem> items)
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
            tool.Name, tool.Description, tool.Parameters is { } schema ? JsonElement.Parse(schema) : EmptyParameters))];
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
            ChatResponseFormat.ForJsonSchema(JsonElement.Parse(schema), format.Name, format.Description),
        { Type: OutputFormat.JsonObjectType or OutputFormat.JsonSchemaType } => ChatResponseFormat.Json,
        _ => null,
    };

    /// <summary>
    /// The function calls among a response's contents, with their arguments as JSON text; arguments a provider sent
    /// that are not JSON (a call cut short) are empty, never <c>{}</c>, so they cannot pass for a call without arguments.
    /// </summary>
    public static IEnumerable<FunctionCall> Calls(IEnumerable<AIContent> contents) => contents.OfType<FunctionCallContent>().Select(Call);

    public static FunctionCall Call(FunctionCallContent call) => new(
        call.CallId, call.Name, call.Exception is not null && call.Arguments is null
            ? string.Empty
            : JsonSerializer.Serialize(call.Arguments ?? new Dictionary<string, object?>(), Compact));

    /// <summary>A message's text as a plain-text model reads it: its text, a call's name and arguments, or a tool's output.</summary>
    public static string Text(ChatMessage message) => string.Concat(message.Contents.Select(content => content switch
    {
        TextContent text => text.Text,
        FunctionCallContent call => $"{call.Name}({JsonSerializer.Serialize(call.Arguments, Compact)})",
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
