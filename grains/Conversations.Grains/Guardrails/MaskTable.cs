using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Conversations.Grains.Guardrails;

/// <summary>
/// One call's reversible masks: each distinct value of a kind gets a placeholder (<c>&lt;EMAIL_1&gt;</c>, the same one
/// wherever it occurs), and the answer gets the values back. It lives only as long as the call, in the silo that runs it.
/// </summary>
public sealed partial class MaskTable
{
    /// <summary>The longest placeholder the table hands out: the bound of what a stream holds back to restore one split across chunks.</summary>
    public const int MaxPlaceholderLength = 48;

    private readonly Dictionary<string, string> _byValue = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _byPlaceholder = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);

    public bool IsEmpty => _byPlaceholder.Count == 0;

    public string PlaceholderFor(string kind, string value)
    {
        var key = kind + "\0" + value;
        if (_byValue.TryGetValue(key, out var placeholder))
        {
            return placeholder;
        }

        var n = _counts[kind] = _counts.GetValueOrDefault(kind) + 1;
        var name = kind.ToUpperInvariant();
        name = name.Length > 32 ? name[..32] : name;
        placeholder = string.Create(CultureInfo.InvariantCulture, $"<{name}_{n}>");
        _byValue[key] = placeholder;
        _byPlaceholder[placeholder] = value;
        return placeholder;
    }

    /// <summary>The text with this call's placeholders replaced by their values (JSON-escaped inside JSON text); others stay.</summary>
    public string Restore(string text, bool json = false) => IsEmpty || !text.Contains('<', StringComparison.Ordinal) ? text
        : PlaceholderPattern().Replace(text, match => _byPlaceholder.TryGetValue(match.Value, out var value)
            ? json ? JsonEncodedText.Encode(value, JavaScriptEncoder.UnsafeRelaxedJsonEscaping).Value : value
            : match.Value);

    /// <summary>Whether <paramref name="tail"/> (from a <c>&lt;</c> on) could still become a placeholder.</summary>
    public static bool CouldBecomePlaceholder(ReadOnlySpan<char> tail)
    {
        if (tail.Length == 0 || tail[0] != '<' || tail.Length >= MaxPlaceholderLength)
        {
            return false;
        }

        foreach (var c in tail[1..])
        {
            if (!char.IsAsciiLetterUpper(c) && !char.IsAsciiDigit(c) && c != '_')
            {
                return false;
            }
        }

        return true;
    }

    [GeneratedRegex(@"<[A-Z][A-Z0-9_]*_\d+>", RegexOptions.CultureInvariant)]
    private static partial Regex PlaceholderPattern();
}
