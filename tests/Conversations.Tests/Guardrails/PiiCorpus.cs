using System.Globalization;
using System.Text;
using Conversations.Guardrails;
using PhoneNumbers;

namespace Conversations.Tests.Guardrails;

/// <summary>
/// A generated, reproducible corpus of PII for the guardrail tests: for each built-in kind, valid values written the
/// ways people write them (checksums computed, phone numbers valid in their numbering plan), each inside a sentence;
/// and near misses that must not be taken for PII (card numbers failing Luhn, order numbers, version strings, dates).
/// </summary>
public static class PiiCorpus
{
    public const int PerKind = 500;

    private static readonly string[] Names = ["ana", "bo", "chen.li", "d_okafor", "eve+news", "f.garcia", "guy", "hana-k"];
    private static readonly string[] Domains = ["example.com", "mail.example.org", "corp.example.co.uk", "example.io", "sub.dept.example.net"];
    private static readonly string[] Sentences = ["Please reach me at {0} tomorrow.", "My details: {0}.", "{0} is the one on file", "use ({0}) for this", "Write it down: {0}"];

    /// <summary>The values of <paramref name="kind"/>, <see cref="PerKind"/> of them, the same on every run.</summary>
    public static IReadOnlyList<string> Values(string kind)
    {
        var random = new Random(Seed(kind));
        Func<Random, int, string> make = kind switch
        {
            PiiKinds.Email => Email,
            PiiKinds.Phone => Phone,
            PiiKinds.CreditCard => Card,
            PiiKinds.Iban => Iban,
            PiiKinds.IpAddress => Ip,
            PiiKinds.UsSsn => Ssn,
            PiiKinds.Secret => Secret,
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        var values = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; values.Count < PerKind; i++)
        {
            values.Add(make(random, i));
        }

        return [.. values];
    }

    /// <summary>A value placed in a sentence.</summary>
    public static string InSentence(string value, int i) => string.Format(CultureInfo.InvariantCulture, Sentences[i % Sentences.Length], value);

    /// <summary>Text that looks like PII and is not: none of it may be found.</summary>
    public static IReadOnlyList<string> NearMisses()
    {
        var random = new Random(77);
        var misses = new List<string>();
        for (var i = 0; i < PerKind; i++)
        {
            misses.Add($"Card ending {FailingLuhn(random)} was declined"); // 16 digits failing Luhn
            misses.Add($"Order number ORD-{random.Next(2020, 2027)}-{random.Next(0, 999_999):D6} shipped");
            misses.Add($"Upgrade to version {random.Next(0, 20)}.{random.Next(0, 50)}.{random.Next(0, 200)} today");
            misses.Add($"Meeting on {random.Next(2000, 2030)}-{random.Next(1, 13):D2}-{random.Next(1, 29):D2} at {random.Next(0, 24):D2}:{random.Next(0, 60):D2}");
            misses.Add($"Invoice {random.Next(100_000, 999_999)} of {random.Next(1, 13):D2}/{random.Next(1, 29):D2}/{random.Next(2000, 2030)}, total {random.Next(1, 9999)}.{random.Next(0, 100):D2} EUR");
            misses.Add($"Ticket #{random.Next(1000, 99999)} for sku-{random.Next(100, 999)}-{random.Next(10, 99)}");
        }

        return misses;
    }

    private static int Seed(string kind) => kind.Aggregate(17, (hash, c) => (hash * 31) + c);

    private static string Email(Random random, int i) =>
        $"{Names[random.Next(Names.Length)]}{random.Next(0, 1000)}@{Domains[random.Next(Domains.Length)]}";

    private static readonly PhoneNumberUtil Phones = PhoneNumberUtil.GetInstance();

    private static string Phone(Random random, int i)
    {
        // US numbers written nationally and internationally, and numbers of other plans with their country code.
        string[] regions = ["US", "US", "GB", "DE", "FR", "IN", "BR", "JP"];
        while (true)
        {
            var region = regions[random.Next(regions.Length)];
            var example = Phones.GetExampleNumberForType(region, random.Next(2) == 0 ? PhoneNumberType.MOBILE : PhoneNumberType.FIXED_LINE);
            var digits = example.NationalNumber.ToString(CultureInfo.InvariantCulture).ToCharArray();
            for (var d = digits.Length - 4; d < digits.Length; d++)
            {
                digits[d] = (char)('0' + random.Next(10));
            }

            var number = Phones.Parse(new string(digits), region);
            if (!Phones.IsValidNumber(number))
            {
                continue;
            }

            var format = region == "US" && random.Next(2) == 0 ? PhoneNumberFormat.NATIONAL : PhoneNumberFormat.INTERNATIONAL;
            return Phones.Format(number, format);
        }
    }

    private static string Card(Random random, int i)
    {
        string[] prefixes = ["4", "51", "52", "55", "2221", "34", "37", "6011"];
        var prefix = prefixes[random.Next(prefixes.Length)];
        var amex = prefix is "34" or "37";
        var length = amex ? 15 : 16;
        var digits = new StringBuilder(prefix);
        while (digits.Length < length - 1)
        {
            digits.Append((char)('0' + random.Next(10)));
        }

        digits.Append(LuhnDigit(digits.ToString()));
        var number = digits.ToString();
        return (random.Next(3), amex) switch
        {
            (0, _) => number,
            (_, true) => $"{number[..4]} {number[4..10]} {number[10..]}",
            (1, false) => string.Join(' ', number.Chunk(4).Select(c => new string(c))),
            _ => string.Join('-', number.Chunk(4).Select(c => new string(c))),
        };
    }

    private static string FailingLuhn(Random random)
    {
        var digits = new StringBuilder("4");
        while (digits.Length < 15)
        {
            digits.Append((char)('0' + random.Next(10)));
        }

        digits.Append((char)('0' + ((LuhnDigit(digits.ToString()) - '0' + 1 + random.Next(9)) % 10)));
        return digits.ToString();
    }

    private static char LuhnDigit(string partial)
    {
        var sum = 0;
        for (var i = 0; i < partial.Length; i++)
        {
            var digit = partial[partial.Length - 1 - i] - '0';
            if (i % 2 == 0)
            {
                digit = digit * 2 > 9 ? (digit * 2) - 9 : digit * 2;
            }

            sum += digit;
        }

        return (char)('0' + ((10 - (sum % 10)) % 10));
    }

    private static string Iban(Random random, int i)
    {
        // Country and length of its BBAN: Germany (18 digits), France (23), the UK (4 letters, 14 digits), Spain (20).
        (string Country, string Bban)[] shapes =
        [
            ("DE", Digits(random, 18)),
            ("FR", Digits(random, 23)),
            ("GB", "NWBK" + Digits(random, 14)),
            ("ES", Digits(random, 20)),
        ];
        var (country, bban) = shapes[random.Next(shapes.Length)];
        var check = 98 - Mod97(bban + country + "00");
        var iban = $"{country}{check:D2}{bban}";
        return random.Next(2) == 0 ? iban : string.Join(' ', iban.Chunk(4).Select(c => new string(c)));
    }

    private static int Mod97(string text)
    {
        var remainder = 0;
        foreach (var c in text)
        {
            remainder = char.IsAsciiDigit(c) ? ((remainder * 10) + (c - '0')) % 97 : ((remainder * 100) + (c - 'A' + 10)) % 97;
        }

        return remainder;
    }

    private static string Ip(Random random, int i) => random.Next(2) == 0
        ? $"{random.Next(1, 224)}.{random.Next(0, 256)}.{random.Next(0, 256)}.{random.Next(1, 255)}"
        : random.Next(2) == 0
            ? $"2001:db8:{random.Next(0, 0xffff):x}:{random.Next(0, 0xffff):x}::{random.Next(1, 0xffff):x}"
            : $"fe80::{random.Next(0, 0xffff):x}:{random.Next(0, 0xffff):x}:{random.Next(0, 0xffff):x}:{random.Next(1, 0xffff):x}";

    private static string Ssn(Random random, int i)
    {
        var area = random.Next(1, 900);
        area = area == 666 ? 667 : area;
        return $"{area:D3}-{random.Next(1, 100):D2}-{random.Next(1, 10_000):D4}";
    }

    private static string Secret(Random random, int i) => (i % 6) switch
    {
        0 => "sk-proj-" + Alphanumeric(random, 40) + "1",
        1 => "AKIA" + Upper(random, 16),
        2 => "ghp_" + Alphanumeric(random, 36),
        3 => "xoxb-" + Digits(random, 12) + "-" + Alphanumeric(random, 24),
        4 => "eyJhbGciOiJIUzI1NiJ9.eyJ" + Alphanumeric(random, 20) + "." + Alphanumeric(random, 30),
        _ => "-----BEGIN RSA PRIVATE KEY-----\n" + Alphanumeric(random, 64) + "\n" + Alphanumeric(random, 64) + "\n-----END RSA PRIVATE KEY-----",
    };

    private static string Digits(Random random, int count) => new([.. Enumerable.Range(0, count).Select(_ => (char)('0' + random.Next(10)))]);

    private static string Upper(Random random, int count) => new([.. Enumerable.Range(0, count).Select(_ => "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[random.Next(32)])]);

    private static string Alphanumeric(Random random, int count) =>
        new([.. Enumerable.Range(0, count).Select(_ => "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[random.Next(62)])]);
}
