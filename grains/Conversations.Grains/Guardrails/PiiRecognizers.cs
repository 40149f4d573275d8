using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Conversations.Guardrails;
using PhoneNumbers;

namespace Conversations.Grains.Guardrails;

/// <summary>A piece of PII found in a text: where, and of what kind (a built-in kind or a tenant pattern's name).</summary>
public readonly record struct PiiMatch(int Start, int Length, string Kind)
{
    public int End => Start + Length;
}

/// <summary>
/// The built-in PII recognizers, offline and without a model: patterns for candidates, then a check that a real value
/// passes (Luhn for cards, mod-97 for IBANs, address parsing for IPs, numbering plans for phones through
/// libphonenumber). Names and postal addresses need a language model and are not recognized.
/// </summary>
public static partial class PiiRecognizers
{
    /// <summary>The region a phone number written without its country code is read in; numbers with <c>+</c> are read in their own.</summary>
    public const string DefaultPhoneRegion = "US";

    private static readonly PhoneNumberUtil Phones = PhoneNumberUtil.GetInstance();

    /// <summary>The matches of the selected kinds, in text order, none overlapping (a secret or email before a phone inside it).</summary>
    public static List<PiiMatch> Find(string text, PiiSelection selection)
    {
        var found = new List<(PiiMatch Match, int Rank)>();
        void Add(IEnumerable<PiiMatch> matches, int rank) => found.AddRange(matches.Select(m => (m, rank)));

        if (selection.Has(PiiKinds.Secret))
        {
            Add(Secrets(text), 0);
        }

        if (selection.Has(PiiKinds.Email) && text.Contains('@', StringComparison.Ordinal))
        {
            Add(Matches(EmailPattern(), text, PiiKinds.Email), 1);
        }

        var digits = CountDigits(text);
        if (selection.Has(PiiKinds.Iban) && digits >= 2)
        {
            Add(Ibans(text), 2);
        }

        if (selection.Has(PiiKinds.CreditCard) && digits >= 13)
        {
            Add(Cards(text), 3);
        }

        if (selection.Has(PiiKinds.UsSsn) && digits >= 9)
        {
            Add(Matches(SsnPattern(), text, PiiKinds.UsSsn), 4);
        }

        if (selection.Has(PiiKinds.IpAddress))
        {
            Add(IpAddresses(text), 5);
        }

        if (selection.Has(PiiKinds.Phone) && digits >= 7)
        {
            Add(PhoneNumbers(text), 6);
        }

        foreach (var (name, pattern) in selection.Custom)
        {
            Add(Matches(pattern, text, name), 7);
        }

        return NonOverlapping(found);
    }

    private static List<PiiMatch> NonOverlapping(List<(PiiMatch Match, int Rank)> found)
    {
        if (found.Count <= 1)
        {
            return [.. found.Select(f => f.Match)];
        }

        found.Sort((a, b) => a.Match.Start != b.Match.Start ? a.Match.Start.CompareTo(b.Match.Start)
            : a.Rank != b.Rank ? a.Rank.CompareTo(b.Rank) : b.Match.Length.CompareTo(a.Match.Length));
        var kept = new List<(PiiMatch Match, int Rank)>(found.Count);
        foreach (var next in found)
        {
            if (kept.Count > 0 && kept[^1].Match.End > next.Match.Start)
            {
                // Overlapping: the better-ranked (a secret before the digits inside it), else the longer, stays.
                var last = kept[^1];
                if (next.Rank < last.Rank || (next.Rank == last.Rank && next.Match.Length > last.Match.Length))
                {
                    kept[^1] = next;
                }

                continue;
            }

            kept.Add(next);
        }

        return [.. kept.Select(k => k.Match)];
    }

    private static List<PiiMatch> Matches(Regex pattern, string text, string kind)
    {
        var found = new List<PiiMatch>();
        foreach (var match in pattern.EnumerateMatches(text))
        {
            if (match.Length > 0)
            {
                found.Add(new PiiMatch(match.Index, match.Length, kind));
            }
        }

        return found;
    }

    private static List<PiiMatch> Secrets(string text)
    {
        var found = new List<PiiMatch>();
        foreach (var match in SecretPattern().EnumerateMatches(text))
        {
            found.Add(new PiiMatch(match.Index, match.Length, PiiKinds.Secret));
        }

        if (text.Contains("-----BEGIN", StringComparison.Ordinal))
        {
            foreach (var match in PemPattern().EnumerateMatches(text))
            {
                found.Add(new PiiMatch(match.Index, match.Length, PiiKinds.Secret));
            }
        }

        return found;
    }

    private static List<PiiMatch> Cards(string text)
    {
        var found = new List<PiiMatch>();
        foreach (var match in CardPattern().EnumerateMatches(text))
        {
            if (Luhn(text.AsSpan(match.Index, match.Length)))
            {
                found.Add(new PiiMatch(match.Index, match.Length, PiiKinds.CreditCard));
            }
        }

        return found;
    }

    /// <summary>The Luhn checksum over the digits (separators skipped), 13 to 19 of them.</summary>
    public static bool Luhn(ReadOnlySpan<char> number)
    {
        int sum = 0, count = 0;
        for (var i = number.Length - 1; i >= 0; i--)
        {
            if (!char.IsAsciiDigit(number[i]))
            {
                continue;
            }

            var digit = number[i] - '0';
            if (count++ % 2 == 1)
            {
                digit = digit * 2 > 9 ? (digit * 2) - 9 : digit * 2;
            }

            sum += digit;
        }

        return count is >= 13 and <= 19 && sum % 10 == 0;
    }

    private static List<PiiMatch> Ibans(string text)
    {
        var found = new List<PiiMatch>();
        foreach (var match in IbanPattern().EnumerateMatches(text))
        {
            // The candidate may have taken a following group of capitals: the longest valid prefix is the IBAN.
            var candidate = text.AsSpan(match.Index, match.Length);
            for (var end = candidate.Length; end >= 15; end--)
            {
                if (candidate[end - 1] != ' ' && IbanValid(candidate[..end]))
                {
                    found.Add(new PiiMatch(match.Index, end, PiiKinds.Iban));
                    break;
                }
            }
        }

        return found;
    }

    /// <summary>ISO 13616: 15 to 34 characters; moved country and check digits, letters as 10 to 35, the number mod 97 is 1.</summary>
    public static bool IbanValid(ReadOnlySpan<char> iban)
    {
        Span<char> compact = stackalloc char[34];
        var length = 0;
        foreach (var c in iban)
        {
            if (c == ' ')
            {
                continue;
            }

            if (length == 34 || !char.IsAsciiLetterUpper(c) && !char.IsAsciiDigit(c))
            {
                return false;
            }

            compact[length++] = c;
        }

        if (length < 15)
        {
            return false;
        }

        var remainder = 0;
        for (var i = 0; i < length; i++)
        {
            var c = compact[(i + 4) % length];
            remainder = char.IsAsciiDigit(c) ? ((remainder * 10) + (c - '0')) % 97 : ((remainder * 100) + (c - 'A' + 10)) % 97;
        }

        return remainder == 1;
    }

    private static List<PiiMatch> IpAddresses(string text)
    {
        var found = new List<PiiMatch>();
        if (text.Contains('.', StringComparison.Ordinal))
        {
            foreach (var match in Ipv4Pattern().EnumerateMatches(text))
            {
                found.Add(new PiiMatch(match.Index, match.Length, PiiKinds.IpAddress));
            }
        }

        if (text.Contains(':', StringComparison.Ordinal))
        {
            foreach (var match in Ipv6Pattern().EnumerateMatches(text))
            {
                var candidate = text.AsSpan(match.Index, match.Length);
                if (candidate.Count(':') >= 2 && IPAddress.TryParse(candidate, out var address) && address.AddressFamily == AddressFamily.InterNetworkV6)
                {
                    found.Add(new PiiMatch(match.Index, match.Length, PiiKinds.IpAddress));
                }
            }
        }

        return found;
    }

    private static List<PiiMatch> PhoneNumbers(string text)
    {
        var found = new List<PiiMatch>();
        // Strict grouping: digits grouped as the plan writes them (or not at all), so "ORD-2022-355884" is no number.
        foreach (var match in Phones.FindNumbers(text, DefaultPhoneRegion, PhoneNumberUtil.Leniency.STRICT_GROUPING, long.MaxValue))
        {
            var (start, length) = (match.Start, match.Length);
            if (start > 0 && (char.IsAsciiLetterOrDigit(text[start - 1]) || text[start - 1] == '-'))
            {
                continue; // the tail of an identifier
            }

            if (text[start] == '(' && !text.AsSpan(start, length).Contains(')'))
            {
                (start, length) = (start + 1, length - 1); // "(+1 201-555-0123)": the bracket is the sentence's, not the number's
            }

            found.Add(new PiiMatch(start, length, PiiKinds.Phone));
        }

        return found;
    }

    private static int CountDigits(string text)
    {
        var digits = 0;
        foreach (var c in text)
        {
            digits += char.IsAsciiDigit(c) ? 1 : 0;
        }

        return digits;
    }

    [GeneratedRegex(@"[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24}\b", RegexOptions.CultureInvariant)]
    private static partial Regex EmailPattern();

    // 13 to 19 digits together, in groups of four (16 to 19), or Amex's 4-6-5.
    [GeneratedRegex(@"(?<![\d-])(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?|\d{4}([ -])\d{6}\2\d{5})(?![\d])", RegexOptions.CultureInvariant)]
    private static partial Regex CardPattern();

    [GeneratedRegex(@"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", RegexOptions.CultureInvariant)]
    private static partial Regex IbanPattern();

    // Area 000, 666 and 900-999, group 00 and serial 0000 are never issued.
    [GeneratedRegex(@"(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])", RegexOptions.CultureInvariant)]
    private static partial Regex SsnPattern();

    [GeneratedRegex(@"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\w|\.\d)", RegexOptions.CultureInvariant)]
    private static partial Regex Ipv4Pattern();

    [GeneratedRegex(@"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:])", RegexOptions.CultureInvariant)]
    private static partial Regex Ipv6Pattern();

    // Well-known key prefixes: OpenAI/Anthropic (sk-, with a digit), AWS access keys, GitHub tokens, Slack tokens,
    // Stripe live keys, Google API keys, and JWTs.
    [GeneratedRegex(
        @"\bsk-(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{20,}|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{36,255}\b|\bgithub_pat_[A-Za-z0-9_]{22,255}|\bxox[abposr]-[A-Za-z0-9-]{10,}|\b[rs]k_live_[A-Za-z0-9]{20,}|\bAIza[0-9A-Za-z_-]{35}|\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
        RegexOptions.CultureInvariant)]
    private static partial Regex SecretPattern();

    [GeneratedRegex(@"-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----[\s\S]{1,16384}?-----END [A-Z ]{0,40}PRIVATE KEY-----", RegexOptions.CultureInvariant)]
    private static partial Regex PemPattern();
}
