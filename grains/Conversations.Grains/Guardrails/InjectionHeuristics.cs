using System.Text.RegularExpressions;

namespace Conversations.Grains.Guardrails;

/// <summary>
/// Signs of a prompt injection in text a model will read, without a model: instruction-override phrases, chat-template
/// role markers, hidden Unicode (zero-width, bidirectional controls, tag characters) and long encoded blobs. Heuristics
/// find the common attacks and miss paraphrases; a classifier model would catch more.
/// </summary>
public static partial class InjectionHeuristics
{
    public const string Override = "override";
    public const string RoleMarker = "role_marker";
    public const string HiddenUnicode = "hidden_unicode";
    public const string EncodedBlob = "encoded_blob";

    /// <summary>The kinds of signal found in <paramref name="text"/>, none when it looks benign.</summary>
    public static IReadOnlyList<string> Screen(string text)
    {
        List<string>? found = null;
        void Add(string kind) => (found ??= []).Add(kind);

        if (OverridePattern().IsMatch(text))
        {
            Add(Override);
        }

        if (RoleMarkerPattern().IsMatch(text))
        {
            Add(RoleMarker);
        }

        if (HasHiddenUnicode(text))
        {
            Add(HiddenUnicode);
        }

        if (text.Length >= 120 && EncodedBlobPattern().IsMatch(text))
        {
            Add(EncodedBlob);
        }

        return found ?? (IReadOnlyList<string>)[];
    }

    private static bool HasHiddenUnicode(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c is (>= '\u200B' and <= '\u200F') or (>= '\u202A' and <= '\u202E') or (>= '\u2060' and <= '\u2064') or (>= '\u2066' and <= '\u2069')
                || (c == '\uFEFF' && i > 0))
            {
                return true;
            }

            // Tag characters U+E0000 to U+E007F: invisible ASCII look-alikes, as the surrogate pair DB40 DC00-DC7F.
            if (c == '\uDB40' && i + 1 < text.Length && text[i + 1] is >= '\uDC00' and <= '\uDC7F')
            {
                return true;
            }
        }

        return false;
    }

    [GeneratedRegex(
        @"\b(?:ignore|disregard|forget|override|bypass|skip)\s+(?:all\s+|any\s+|the\s+|your\s+|of\s+|these\s+|those\s+)*(?:previous|prior|above|earlier|preceding|system|original|initial|developer)\s+(?:instructions?|prompts?|rules|directions|guidelines|messages|context)\b"
        + @"|\byou\s+are\s+now\s+(?:DAN|in\s+developer\s+mode|no\s+longer\s+bound|an?\s+unrestricted|free\s+from)"
        + @"|\b(?:reveal|print|show|output|repeat|leak|dump)\s+(?:me\s+)?(?:your|the)\s+(?:full\s+|entire\s+|hidden\s+|secret\s+)?(?:system\s+prompt|initial\s+instructions|hidden\s+instructions|instructions\s+above)"
        + @"|\b(?:developer|jailbreak|god)\s+mode\s+(?:enabled|on|activated)"
        + @"|\bdo\s+anything\s+now\b"
        + @"|\bnew\s+(?:system\s+)?instructions\s*:"
        + @"|\bfrom\s+now\s+on,?\s+(?:you\s+(?:will|must)\s+)?(?:ignore|disregard)\b",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex OverridePattern();

    [GeneratedRegex(
        @"<\|(?:im_start|im_end|system|endoftext|start_header_id|end_header_id|eot_id)\|>|\[/?INST\]|<</?SYS>>|</?system>|^\s*#{2,}\s*(?:system|instruction)s?\s*:?\s*$",
        RegexOptions.IgnoreCase | RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex RoleMarkerPattern();

    [GeneratedRegex(@"[A-Za-z0-9+/]{120,}={0,2}|\b[0-9A-Fa-f]{120,}\b", RegexOptions.CultureInvariant)]
    private static partial Regex EncodedBlobPattern();
}
