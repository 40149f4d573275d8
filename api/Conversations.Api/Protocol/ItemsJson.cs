using System.Text.Json;

namespace Conversations.Api;

/// <summary>An item as clients send it (<c>input</c> of a response, <c>items</c> of a conversation).</summary>
public sealed record InputItemJson(string? Type, string? Role, JsonElement? Content);

/// <summary>A message item as OpenAI returns it.</summary>
public sealed record MessageItemJson(string Type, string Id, string Status, string Role, IReadOnlyList<TextPartJson> Content)
{
    public static MessageItemJson From(ConversationItem item) => new(
        "message",
        item.Id,
        "completed",
        item.Role,
        [item.Role == Roles.Assistant ? TextPartJson.Output(item.Text) : TextPartJson.Input(item.Text)]);
}

public sealed record TextPartJson(string Type, string Text, IReadOnlyList<object>? Annotations = null, IReadOnlyList<object>? Logprobs = null)
{
    public static TextPartJson Input(string text) => new("input_text", text);

    public static TextPartJson Output(string text) => new("output_text", text, [], []);
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
    public static Result<List<NewItem>> Read(IReadOnlyList<InputItemJson?>? items, string param, int maxItems)
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

            if (item.Type is not (null or "message"))
            {
                return GatewayError.Invalid($"Items of type '{item.Type}' are not supported; send message items.", $"{itemParam}.type", "unsupported_item_type");
            }

            if (item.Role is null || !Roles.IsKnown(item.Role))
            {
                return GatewayError.Invalid(
                    $"Invalid value for '{itemParam}.role': expected one of 'user', 'assistant', 'system', 'developer'.", $"{itemParam}.role", "invalid_value");
            }

            var text = ContentParts.ReadText(item.Content, $"{itemParam}.content");
            if (!text.IsSuccess)
            {
                return text.Error;
            }

            read.Add(new NewItem(item.Role, text.Value));
        }

        return read;
    }

    /// <summary>A response's <c>input</c>: a string (one user message) or an array of items.</summary>
    public static Result<List<NewItem>> ReadInput(JsonElement? input, int maxItems)
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

                var read = Read(items, "input", maxItems);
                return read.IsSuccess && read.Value.Count == 0
                    ? GatewayError.Invalid("Invalid 'input': expected at least one item.", "input", "empty_array")
                    : read;
            default:
                return GatewayError.Invalid("Invalid type for 'input': expected a string or an array of items.", "input", "invalid_type");
        }
    }
}
