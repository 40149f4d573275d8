using System.Text.Json;
using Conversations.Media;
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
    /// Each output moved to directly after the run of calls it answers (in call order), as Chat Completions
    /// requires, when only calls and outputs stand between them (outputs sent in another order, or calls
    /// answered one by one). An output that comes after other messages stays where it is: moving it back
    /// would put the newest input behind older messages.
    /// </summary>
    private static List<NewItem> OutputsAfterCalls(List<NewItem> items)
    {
        var ordered = new List<NewItem>(items.Count);
        var moved = new HashSet<int>();
        for (var i = 0; i < items.Count; i++)
        {
            if (moved.Contains(i))
            {
                continue;
            }

            ordered.Add(items[i]);
            if (items[i].Call is null || (i + 1 < items.Count && items[i + 1].Call is not null))
            {
                continue;
            }

            // The end of a run of calls: its outputs in the block of calls and outputs that follows come next, in call order.
            var start = i;
            while (start > 0 && items[start - 1].Call is not null)
            {
                start--;
            }

            var block = Enumerable.Range(i + 1, items.Count - i - 1).TakeWhile(j => items[j].Call is not null || items[j].CallId is not null)
                .Where(j => items[j].CallId is not null && !moved.Contains(j)).ToList();
            foreach (var call in items[start..(i + 1)])
            {
                if (block.FirstOrDefault(j => items[j].CallId == call.Call!.CallId && !moved.Contains(j), -1) is var output and >= 0)
                {
                    ordered.Add(items[output]);
                    moved.Add(output);
                }
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
                : item.Parts is { Count: > 0 } parts ? new ChatMessage(Role(item.Role), WithParts(item.Text, parts))
                : new ChatMessage(Role(item.Role), item.Text));
        }

        return messages;
    }

    /// <summary>
    /// A message's text and its parts as Microsoft.Extensions.AI contents, which each provider client writes in its own shape:
    /// bytes as <see cref="DataContent"/> (an image, a PDF or text file, audio), a remote image as <see cref="UriContent"/>
    /// (passed on, never fetched). An image's <c>detail</c> rides in the content's additional properties, where the OpenAI
    /// client reads it. A part whose bytes could not be loaded is named in text rather than sent empty.
    /// </summary>
    private static List<AIContent> WithParts(string text, IReadOnlyList<ContentPart> parts)
    {
        var contents = new List<AIContent>(parts.Count + 1);
        if (text.Length > 0)
        {
            contents.Add(new TextContent(text));
        }

        foreach (var part in parts)
        {
            AIContent content = part switch
            {
                { Data: { } data } => new DataContent(data, part.MediaType) { Name = part.Filename },
                { Url: { } url } => new UriContent(url, part.Kind == Modalities.Image ? "image/*" : part.MediaType),
                _ => new TextContent($"{part.Describe()} (not available)"),
            };
            if (part.Detail is { } detail && content is DataContent or UriContent)
            {
                content.AdditionalProperties = new() { ["detail"] = detail };
            }

            contents.Add(content);
        }

        return contents;
    }

    /// <summary>How the simulated model names what it received beside text: each image, file or audio part of <paramref name="message"/>.</summary>
    public static IEnumerable<string> Attachments(ChatMessage message) => message.Contents.Select(content => content switch
    {
        DataContent data => $"[{KindOf(data.MediaType)} {data.MediaType} {data.Data.Length} bytes]",
        UriContent uri => $"[{KindOf(uri.MediaType)} {uri.Uri}]",
        _ => null,
    }).OfType<string>();

    private static string KindOf(string mediaType) =>
        mediaType.StartsWith("image/", StringComparison.Ordinal) ? Modalities.Image
        : mediaType.StartsWith("audio/", StringComparison.Ordinal) ? Modalities.Audio
        : Modalities.File;

    /// <summary>The request's tools and tool choice as chat options (unchanged when it offers none).</summary>
    public static void AddTools(ChatOptions options, CompletionRequest request)
    {
        if (request.Tools is not { Count: > 0 } tools)
        {
            return;
        }

        options.Tools = [.. tools.Select(tool => (AITool)new DeclaredFunction(tool, tool.Parameters is { } schema ? JsonElement.Parse(schema) : EmptyParameters))];
        options.ToolMode = request.ToolChoice switch
        {
            { Function: { } function } => ChatToolMode.RequireSpecific(function),
            { Mode: ToolChoice.None } => ChatToolMode.None,
            { Mode: ToolChoice.Required } => ChatToolMode.RequireAny,
            _ => ChatToolMode.Auto,
        };
        options.AllowMultipleToolCalls = request.ParallelToolCalls;
    }

    /// <summary>
    /// The answer's format as chat options take it: any JSON object, or JSON following a schema. For OpenAI-compatible
    /// deployments the schema also goes out as the client wrote it, with its <c>strict</c>: Microsoft.Extensions.AI would
    /// otherwise rewrite it into its strict form (every property required, constraints moved into descriptions).
    /// </summary>
    public static void AddFormat(ChatOptions options, OutputFormat? format)
    {
        options.ResponseFormat = format switch
        {
            { Type: OutputFormat.JsonSchemaType, Schema: { } schema } =>
                ChatResponseFormat.ForJsonSchema(JsonElement.Parse(schema), format.Name, format.Description),
            { Type: OutputFormat.JsonObjectType or OutputFormat.JsonSchemaType } => ChatResponseFormat.Json,
            _ => null,
        };
        if (format is { Type: OutputFormat.JsonSchemaType, Schema: { } exact })
        {
            options.RawRepresentationFactory = _ => new OpenAI.Chat.ChatCompletionOptions
            {
                ResponseFormat = OpenAI.Chat.ChatResponseFormat.CreateJsonSchemaFormat(
                    format.Name ?? "answer", BinaryData.FromString(exact), format.Description, format.Strict),
            };
        }
    }

    /// <summary>Whether a streamed update shows the model writing function calls (which M.E.AI hands over only when complete).</summary>
    public static bool WritesCalls(ChatResponseUpdate update) =>
        update.RawRepresentation is OpenAI.Chat.StreamingChatCompletionUpdate { ToolCallUpdates.Count: > 0 }
        || ReferenceEquals(update.RawRepresentation, CallsStarted);

    /// <summary>The raw representation of an update that a provider client yields when the model starts writing a call.</summary>
    public static object CallsStarted { get; } = new();

    /// <summary>
    /// The function calls among a response's contents, with their arguments as JSON text; arguments a provider sent
    /// that are not JSON (a call cut short) are empty, never <c>{}</c>, so they cannot pass for a call without arguments.
    /// </summary>
    public static IEnumerable<FunctionCall> Calls(IEnumerable<AIContent> contents) => contents.OfType<FunctionCallContent>().Select(Call);

    /// <summary>A call as the gateway keeps it; a provider that sent no id gets one, since its output must name it.</summary>
    public static FunctionCall Call(FunctionCallContent call) => new(
        string.IsNullOrEmpty(call.CallId) ? "call_" + Guid.NewGuid().ToString("N")[..24] : call.CallId, call.Name, call.Exception is not null && call.Arguments is null
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
