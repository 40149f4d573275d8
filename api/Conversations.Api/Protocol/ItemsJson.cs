using System.Text.Json;
using System.Text.Json.Serialization;
using Conversations.Api.Media;
using Conversations.Media;

namespace Conversations.Api;

/// <summary>
/// An item as clients send it (<c>input</c> of a response, <c>items</c> of a conversation): a message
/// (<c>role</c>, <c>content</c>), a <c>function_call</c> the model made (<c>call_id</c>, <c>name</c>,
/// <c>arguments</c>), or a <c>function_call_output</c> (<c>call_id</c>, <c>output</c>).
/// </summary>
public sealed record InputItemJson(
    string? Type, string? Role, JsonElement? Content, string? CallId = null, string? Name = null, JsonElement? Arguments = null, JsonElement? Output = null,
    string? EncryptedContent = null);

/// <summary>An item as OpenAI returns it; <c>type</c> says which kind.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(MessageItemJson), ItemKinds.Message)]
[JsonDerivedType(typeof(FunctionCallItemJson), ItemKinds.FunctionCall)]
[JsonDerivedType(typeof(FunctionCallOutputItemJson), ItemKinds.FunctionCallOutput)]
[JsonDerivedType(typeof(CompactionItemJson), CompactionItemJson.Kind)]
[JsonDerivedType(typeof(McpListToolsItemJson), Conversations.Mcp.McpItem.ListTools)]
[JsonDerivedType(typeof(McpCallItemJson), Conversations.Mcp.McpItem.Call)]
public abstract record ItemJson(string Id, string Status)
{
    public static ItemJson From(ConversationItem item) =>
        Ids.IsCompaction(item.Id) ? CompactionItemJson.OfStored(item)
        : item.Mcp is { } mcp ? McpItemJson.From(item.Id, mcp)
        : item.Call is { } call ? new FunctionCallItemJson(item.Id, "completed", call.CallId, call.Name, call.Arguments)
        : item.CallId is { } callId ? new FunctionCallOutputItemJson(item.Id, "completed", callId, item.Text)
        : new MessageItemJson(item.Id, "completed", item.Role,
            [item.Role == Roles.Assistant ? TextPartJson.Output(item.Text) : TextPartJson.Input(item.Text), .. (item.Parts ?? []).Select(MediaPartJson.From)]);
}

/// <summary>A message: its text part, then its images, files and audio (<see cref="MediaPartJson"/>), as OpenAI lists them.</summary>
public sealed record MessageItemJson(string Id, string Status, string Role, IReadOnlyList<object> Content) : ItemJson(Id, Status)
{
    /// <summary>This message with <paramref name="logprobs"/> on its <c>output_text</c> part.</summary>
    public MessageItemJson WithLogprobs(IReadOnlyList<TokenLogprob> logprobs) => this with
    {
        Content = [.. Content.Select(part => part is TextPartJson { Type: "output_text" } text ? TextPartJson.Output(text.Text, logprobs) : part)],
    };
}

/// <summary>
/// An image (<c>input_image</c>), file (<c>input_file</c>) or audio (<c>input_audio</c>) part of a stored message. Its bytes
/// are not repeated: an uploaded file is named by its <c>file_id</c>, a remote image by its <c>image_url</c>; inline bytes
/// are described by their type and size (this gateway's <c>media_type</c> and <c>bytes</c>).
/// </summary>
public sealed record MediaPartJson(string Type, string? Detail = null, string? FileId = null, string? ImageUrl = null, string? Filename = null, string? MediaType = null, long? Bytes = null)
{
    public static MediaPartJson From(ContentPart part) => part.Kind switch
    {
        Modalities.Image => new("input_image", part.Detail ?? "auto", part.FileId, part.Url, MediaType: part.Url is null ? part.MediaType : null, Bytes: part.Url is null ? part.Size : null),
        Modalities.Audio => new("input_audio", FileId: part.FileId, MediaType: part.MediaType, Bytes: part.Size),
        _ => new("input_file", FileId: part.FileId, Filename: part.Filename, MediaType: part.MediaType, Bytes: part.Size),
    };
}

public sealed record FunctionCallItemJson(string Id, string Status, string CallId, string Name, string Arguments) : ItemJson(Id, Status);

public sealed record FunctionCallOutputItemJson(string Id, string Status, string CallId, string Output) : ItemJson(Id, Status);

public sealed record TextPartJson(string Type, string Text, IReadOnlyList<object>? Annotations = null, IReadOnlyList<object>? Logprobs = null)
{
    public static TextPartJson Input(string text) => new("input_text", text);

    public static TextPartJson Output(string text, IReadOnlyList<TokenLogprob>? logprobs = null) =>
        new("output_text", text, [], logprobs is null ? [] : [.. TokenLogprobJson.From(logprobs)]);
}

/// <summary>OpenAI's list envelope.</summary>
public sealed record ListJson<T>(IReadOnlyList<T> Data, string? FirstId, string? LastId, bool HasMore)
{
    public string Object => "list";
}

public sealed record DeletedJson(string Id, string Object, bool Deleted);

public static class InputItems
{
    /// <summary>Validates items sent by a client; every refusal names the field at fault.</summary>
    public static Result<List<NewItem>> Read(IReadOnlyList<InputItemJson?>? items, string param, int maxItems, MediaOptions? media = null)
    {
        if (items is null)
        {
            return new List<NewItem>();
        }

        if (items.Count > maxItems)
        {
            return GatewayError.Invalid($"Invalid '{param}': at most {maxItems} items may be sent at once.", param, "array_above_max_length");
        }

        var read = new List<NewItem>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var itemParam = $"{param}[{i}]";
            if (items[i] is not { } item)
            {
                return GatewayError.Invalid($"Invalid '{itemParam}': expected an item object.", itemParam, "invalid_type");
            }

            Result<NewItem> next = item.Type switch
            {
                null or ItemKinds.Message => Message(item, itemParam, media ?? MediaOptions.Default),
                ItemKinds.FunctionCall => Call(item, itemParam),
                ItemKinds.FunctionCallOutput => Output(item, itemParam),
                CompactionItemJson.Kind => Compaction(item, itemParam),
                _ => GatewayError.Invalid(
                    $"Items of type '{item.Type}' are not supported; send message, function_call, function_call_output or compaction items.", $"{itemParam}.type", "unsupported_item_type"),
            };
            if (!next.IsSuccess)
            {
                return next.Error;
            }

            read.Add(next.Value);
        }

        return read;
    }

    private static Result<NewItem> Message(InputItemJson item, string param, MediaOptions media)
    {
        if (item.Role is null || !Roles.IsKnown(item.Role))
        {
            return GatewayError.Invalid(
                $"Invalid value for '{param}.role': expected one of 'user', 'assistant', 'system', 'developer'.", $"{param}.role", "invalid_value");
        }

        var content = ContentParts.Read(item.Content, $"{param}.content", item.Role == Roles.User ? media : null);
        return content.IsSuccess ? new NewItem(item.Role, content.Value.Text, Parts: content.Value.Parts) : content.Error;
    }

    /// <summary>A <c>compaction</c> item from <c>POST /v1/responses/compact</c>: its summary, readable text, goes to the model as a system message.</summary>
    private static Result<NewItem> Compaction(InputItemJson item, string param) => item.EncryptedContent is { Length: > 0 } summary
        ? new NewItem(Roles.System, CompactionItemJson.Preamble + summary)
        : GatewayError.Invalid($"Missing required parameter: '{param}.encrypted_content'.", $"{param}.encrypted_content", "missing_required_parameter");

    private static Result<NewItem> Call(InputItemJson item, string param)
    {
        if ((ToolCalls.CheckCallId(item.CallId, $"{param}.call_id") ?? ToolCalls.CheckName(item.Name, $"{param}.name")) is { } invalid)
        {
            return invalid;
        }

        var arguments = ToolCalls.ReadArguments(item.Arguments is { ValueKind: JsonValueKind.String } text ? text.GetString() : null, $"{param}.arguments");
        return arguments.IsSuccess ? NewItem.CallOf(new FunctionCall(item.CallId!, item.Name!, arguments.Value)) : arguments.Error;
    }

    private static Result<NewItem> Output(InputItemJson item, string param)
    {
        if (ToolCalls.CheckCallId(item.CallId, $"{param}.call_id") is { } invalid)
        {
            return invalid;
        }

        var output = ContentParts.ReadText(item.Output, $"{param}.output");
        return output.IsSuccess ? NewItem.OutputOf(item.CallId!, output.Value) : output.Error;
    }

    /// <summary>A response's <c>input</c>: a string (one user message) or an array of items.</summary>
    public static Result<List<NewItem>> ReadInput(JsonElement? input, int maxItems, MediaOptions? media = null)
    {
        switch (input)
        {
            case null or { ValueKind: JsonValueKind.Null }:
                return GatewayError.Invalid("Missing required parameter: 'input'.", "input", "missing_required_parameter");
            case { ValueKind: JsonValueKind.String } text:
                return new List<NewItem> { new(Roles.User, text.GetString()!) };
            case { ValueKind: JsonValueKind.Array } array:
                List<InputItemJson?>? items;
                try
                {
                    items = array.Deserialize<List<InputItemJson?>>(ApiJson.Options);
                }
                catch (JsonException exception)
                {
                    return GatewayError.Invalid($"Invalid 'input': {exception.Message}", "input", "invalid_type");
                }

                var read = Read(items, "input", maxItems, media);
                return read.IsSuccess && read.Value.Count == 0
                    ? GatewayError.Invalid("Invalid 'input': expected at least one item.", "input", "empty_array")
                    : read;
            default:
                return GatewayError.Invalid("Invalid type for 'input': expected a string or an array of items.", "input", "invalid_type");
        }
    }
}
