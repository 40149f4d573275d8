namespace Conversations.Grains.Guardrails;

/// <summary>
/// Screens a streamed answer for PII with a bounded look-behind: the last <see cref="Hold"/> characters (moved back to a
/// space, or to the start of an entity that reaches into them) are held until more text or the end arrives, so an
/// entity split across chunks is still seen whole, while everything before them flows on. The delay this adds is that
/// many characters of the answer, whatever its length.
/// </summary>
public sealed class AnswerWindow(PiiRewriter rewriter)
{
    /// <summary>Characters held back; longer than any card number, IP address or phone number, and most emails.</summary>
    public const int Hold = 64;

    /// <summary>Text gathered beyond <see cref="Hold"/> before the window is scanned again: fewer scans, a little more delay.</summary>
    public const int Step = 16;

    private string _pending = string.Empty;

    /// <summary>What can be sent now, screened; or the kind that blocks the answer.</summary>
    public (string Text, string? Blocked) Push(string delta)
    {
        _pending += delta;
        if (_pending.Length <= Hold + Step)
        {
            return (string.Empty, null);
        }

        var matches = PiiRecognizers.Find(_pending, rewriter.Selection);
        var cut = _pending.Length - Hold;
        var space = _pending.LastIndexOfAny([' ', '\n', '\t'], cut - 1);
        cut = space > 0 ? space : cut;
        foreach (var match in matches)
        {
            if (match.Start < cut && match.End > cut)
            {
                cut = match.Start;
            }
        }

        if (cut <= 0)
        {
            return (string.Empty, null);
        }

        var sent = rewriter.Rewrite(_pending, matches, cut);
        _pending = _pending[cut..];
        return sent;
    }

    /// <summary>The rest of the answer, screened, at its end.</summary>
    public (string Text, string? Blocked) Flush()
    {
        var rest = rewriter.Rewrite(_pending);
        _pending = string.Empty;
        return rest;
    }
}
