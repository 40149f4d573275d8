using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Unicode;

namespace Conversations.Api;

/// <summary>
/// Reads a field kept as raw JSON (a message's <c>content</c>, <c>tools</c>, <c>input</c>…) only if every string and
/// property name in it is valid Unicode: the reader checks structure, not text, so invalid UTF-8 or a lone surrogate
/// (raw or escaped) would otherwise surface later, wherever the text is first read. Refused here, it is a
/// <see cref="JsonException"/> at the field's path, which <see cref="RequestBody"/> answers as a 400 <c>invalid_json</c> naming it.
/// </summary>
public sealed class ValidatedJsonElementConverter : JsonConverter<JsonElement>
{
    public override JsonElement Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var scan = reader; // a copy: the element is read from the original below
        var valid = scan.TokenType is not JsonTokenType.String || IsValidText(ref scan);
        var container = scan.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray;
        for (var depth = scan.CurrentDepth; valid && container && scan.Read() && scan.CurrentDepth > depth;)
        {
            valid = scan.TokenType is not (JsonTokenType.String or JsonTokenType.PropertyName) || IsValidText(ref scan);
        }

        if (!valid)
        {
            throw new JsonException("The value holds text that is not valid Unicode (invalid UTF-8 or a lone surrogate).");
        }

        return JsonElement.ParseValue(ref reader);
    }

    public override void Write(Utf8JsonWriter writer, JsonElement value, JsonSerializerOptions options) => value.WriteTo(writer);

    private static bool IsValidText(ref Utf8JsonReader scan)
    {
        if (!scan.ValueIsEscaped && !scan.HasValueSequence)
        {
            return Utf8.IsValid(scan.ValueSpan);
        }

        try
        {
            _ = scan.GetString(); // unescaping rejects a lone surrogate and invalid UTF-8
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
