using System.Text;
using Conversations.Guardrails;

namespace Conversations.Grains.Guardrails;

/// <summary>
/// Applies a guardrail's actions to the PII found in a text: a placeholder for <c>mask</c> (kept in the call's
/// <see cref="MaskTable"/>), <c>[KIND]</c> for <c>redact</c>, the text untouched for <c>flag</c>; a <c>block</c> stops
/// at the first such entity. Every finding is counted in the tally.
/// </summary>
public sealed class PiiRewriter(PiiSelection selection, Func<string, string> actionFor, string guardrail, GuardrailTally tally, MaskTable? masks = null)
{
    public PiiSelection Selection => selection;

    /// <summary>The text with the actions applied, or the kind that blocks it.</summary>
    public (string Text, string? Blocked) Rewrite(string text) =>
        text.Length == 0 ? (text, null) : Rewrite(text, PiiRecognizers.Find(text, selection), text.Length);

    /// <summary>The first <paramref name="length"/> characters of <paramref name="text"/>, rewritten with <paramref name="matches"/> that end within them.</summary>
    public (string Text, string? Blocked) Rewrite(string text, IReadOnlyList<PiiMatch> matches, int length)
    {
        StringBuilder? rewritten = null;
        var copied = 0;
        foreach (var match in matches)
        {
            if (match.End > length)
            {
                break;
            }

            var action = actionFor(match.Kind);
            tally.Add(guardrail, match.Kind, action);
            if (action == GuardrailActions.Block)
            {
                return (text, match.Kind);
            }

            if (action == GuardrailActions.Flag)
            {
                continue;
            }

            rewritten ??= new StringBuilder(length + 16);
            rewritten.Append(text, copied, match.Start - copied);
            rewritten.Append(action == GuardrailActions.Mask && masks is not null
                ? masks.PlaceholderFor(match.Kind, text.Substring(match.Start, match.Length))
                : Redacted(match.Kind));
            copied = match.End;
        }

        return rewritten is null ? (length == text.Length ? text : text[..length], null) : (rewritten.Append(text, copied, length - copied).ToString(), null);
    }

    /// <summary>What a redacted entity of <paramref name="kind"/> reads as.</summary>
    public static string Redacted(string kind) => "[" + kind.ToUpperInvariant() + "]";
}
