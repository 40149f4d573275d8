using System.Globalization;
using System.Text.Json;

namespace Conversations.Grains.Caching;

/// <summary>
/// JSON text in one spelling: object keys sorted (ordinal), no whitespace, integers as written (JSON allows no other
/// spelling of them) and other numbers as the shortest text of their double (<c>0.50</c>, <c>5e-1</c> and <c>0.5</c> agree).
/// Text that is not JSON is written as a string of its own, so it can never equal JSON that is.
/// </summary>
public static class CanonicalJson
{
    public static void Write(Utf8JsonWriter json, string? text)
    {
        if (text is null)
        {
            json.WriteNullValue();
            return;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException)
        {
            json.WriteStartArray();
            json.WriteStringValue("not json");
            json.WriteStringValue(text);
            json.WriteEndArray();
            return;
        }

        using (document)
        {
            Write(json, document.RootElement);
        }
    }

    private static void Write(Utf8JsonWriter json, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                json.WriteStartObject();
                foreach (var property in element.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    json.WritePropertyName(property.Name);
                    Write(json, property.Value);
                }

                json.WriteEndObject();
                break;
            case JsonValueKind.Array:
                json.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                {
                    Write(json, item);
                }

                json.WriteEndArray();
                break;
            case JsonValueKind.Number:
                json.WriteRawValue(Number(element.GetRawText()), skipInputValidation: true);
                break;
            case JsonValueKind.String:
                json.WriteStringValue(element.GetString());
                break;
            default:
                element.WriteTo(json); // true, false, null
                break;
        }
    }

    private static string Number(string raw) =>
        raw.AsSpan().IndexOfAny('.', 'e', 'E') < 0 ? raw
        : double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value)
            ? IntegerOrShortest(value)
            : raw;

    /// <summary>A whole number as an integer (<c>1.0</c> is <c>1</c>), else the shortest round-trip text.</summary>
    private static string IntegerOrShortest(double value) =>
        Math.Abs(value) < 1e15 && value == Math.Floor(value) ? ((long)value).ToString(CultureInfo.InvariantCulture) : value.ToString("R", CultureInfo.InvariantCulture);
}
