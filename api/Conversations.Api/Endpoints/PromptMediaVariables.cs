using System.Text.Json;
using System.Text.Json.Nodes;

namespace Conversations.Api.Endpoints;

/// <summary>
/// Prompt variables whose value is an <c>input_image</c> or <c>input_file</c> part, as OpenAI allows. The template engine renders
/// text only, so each such variable is given a marker made with a nonce of this request (a value the client cannot write),
/// and the marker in a rendered input message becomes the part itself, between the message's text parts. The part is never
/// rendered: it cannot be read as template syntax, and neither can the text around it. A variable takes the kind its prompt
/// version declares: an <c>image</c> an <c>input_image</c> part, a <c>file</c> an <c>input_file</c> part, a <c>string</c> text.
/// </summary>
internal sealed class PromptMediaVariables
{
    private readonly string _nonce = Guid.NewGuid().ToString("N");
    private readonly Dictionary<string, (string Name, JsonElement Part)> _byMarker = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _kinds = new(StringComparer.Ordinal); // variable -> the part type its value is

    public bool Any => _byMarker.Count > 0;

    /// <summary>The marker that stands for <paramref name="value"/> in the template when it is a media part; null when it is not one.</summary>
    public Result<string?> Add(string name, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String
            || type.GetString() is not ("input_image" or "input_file"))
        {
            return (string?)null;
        }

        var kind = type.GetString()!;
        var sound = kind == "input_image"
            ? HasString(value, "image_url") || HasString(value, "file_id")
            : HasString(value, "file_id") || HasString(value, "file_data") || HasString(value, "file_url");
        if (!sound)
        {
            return GatewayError.Invalid(
                $"Invalid 'prompt.variables.{name}': an {kind} part needs {(kind == "input_image" ? "'image_url' or 'file_id'" : "'file_id', 'file_data' or 'file_url'")}.",
                $"prompt.variables.{name}", "invalid_value");
        }

        var marker = $"\u27e6{_nonce}:{_byMarker.Count}\u27e7";
        _byMarker[marker] = (name, value);
        _kinds[name] = kind;
        return marker;
    }

    /// <summary>The first of the <paramref name="variables"/> whose value is not of the type the version declares (<paramref name="types"/>), as a 400 naming it.</summary>
    public GatewayError? Mismatch(IReadOnlyDictionary<string, JsonElement>? variables, IReadOnlyDictionary<string, string>? types)
    {
        foreach (var name in variables?.Keys ?? Enumerable.Empty<string>())
        {
            var declared = types?.GetValueOrDefault(name) ?? PromptAdminTypes.Text;
            if (PromptAdminTypes.PartOf(declared) is var expected && expected != _kinds.GetValueOrDefault(name))
            {
                return GatewayError.Invalid(
                    $"Invalid 'prompt.variables.{name}': the prompt declares it '{declared}', so it takes {(expected is null ? "a string or an input_text part" : $"an {expected} part")}.",
                    $"prompt.variables.{name}", "invalid_type");
            }
        }

        return null;
    }

    /// <summary>The media variable whose marker <paramref name="text"/> holds (a template put it where only text can go), if any.</summary>
    public string? FoundIn(string? text) =>
        text is null ? null : _byMarker.FirstOrDefault(pair => text.Contains(pair.Key, StringComparison.Ordinal)).Value.Name;

    /// <summary>A rendered message's content: its text as it is, or, when it holds markers, text parts with the media parts between them.</summary>
    public JsonNode Content(string text)
    {
        if (!text.Contains($"\u27e6{_nonce}:", StringComparison.Ordinal))
        {
            return JsonValue.Create(text);
        }

        var parts = new JsonArray();
        var rest = text;
        while (_byMarker.Keys.Select(marker => (Marker: marker, At: rest.IndexOf(marker, StringComparison.Ordinal))).Where(found => found.At >= 0)
                   .OrderBy(found => found.At).FirstOrDefault() is { Marker: { } marker, At: var at })
        {
            AddText(parts, rest[..at]);
            parts.Add(JsonNode.Parse(_byMarker[marker].Part.GetRawText()));
            rest = rest[(at + marker.Length)..];
        }

        AddText(parts, rest);
        return parts;
    }

    private static void AddText(JsonArray parts, string text)
    {
        if (text.Length > 0)
        {
            parts.Add(new JsonObject { ["type"] = "input_text", ["text"] = text });
        }
    }

    private static bool HasString(JsonElement value, string property) =>
        value.TryGetProperty(property, out var found) && found.ValueKind == JsonValueKind.String && found.GetString()!.Length > 0;
}
