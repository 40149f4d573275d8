using Conversations.Grains.Guardrails;
using Conversations.Guardrails;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Guardrails;

/// <summary>The offline PII recognizers over the generated corpus: every value found whole, no near miss taken for PII.</summary>
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class PiiRecognizerTests(ITestOutputHelper output)
{
    public static TheoryData<string> Kinds() => [.. PiiKinds.All];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Every_value_of_a_kind_is_found_whole_in_a_sentence(string kind)
    {
        var values = PiiCorpus.Values(kind);
        var missed = new List<string>();
        for (var i = 0; i < values.Count; i++)
        {
            var text = PiiCorpus.InSentence(values[i], i);
            var found = PiiRecognizers.Find(text, PiiSelection.All);
            if (!found.Any(m => m.Kind == kind && text.Substring(m.Start, m.Length) == values[i]))
            {
                missed.Add(values[i]);
            }
        }

        Assert.Equal(PiiCorpus.PerKind, values.Count);
        Assert.True(missed.Count == 0, $"{missed.Count} of {values.Count} {kind} values missed, e.g. {string.Join(" | ", missed.Take(5))}");
    }

    [Fact]
    public void Near_misses_are_not_taken_for_pii()
    {
        var misses = PiiCorpus.NearMisses();

        var flagged = misses.Where(text => PiiRecognizers.Find(text, PiiSelection.All).Count > 0).ToList();

        output.WriteLine($"near misses flagged: {flagged.Count} of {misses.Count} (precision on near misses {1 - ((double)flagged.Count / misses.Count):P2})");
        Assert.True(flagged.Count == 0, string.Join(" | ", flagged.Take(5)));
    }

    [Fact]
    public void Luhn_and_mod_97_decide_cards_and_ibans()
    {
        Assert.True(PiiRecognizers.Luhn("4111 1111 1111 1111"));
        Assert.False(PiiRecognizers.Luhn("4111 1111 1111 1112"));
        Assert.True(PiiRecognizers.IbanValid("GB82 WEST 1234 5698 7654 32"));
        Assert.False(PiiRecognizers.IbanValid("GB83 WEST 1234 5698 7654 32"));
    }

    [Fact]
    public void A_tenant_pattern_is_found_under_its_own_name()
    {
        var selection = PiiSelection.For(new PiiPolicy(GuardrailActions.Mask, [], Patterns: [new PiiPattern("employee_id", "EMP-[0-9]{6}")]));

        var found = PiiRecognizers.Find("ask EMP-123456 or EMP-12 first", selection);

        var match = Assert.Single(found, m => m.Kind == "employee_id");
        Assert.Equal(4, match.Start);
        Assert.Equal(10, match.Length);
    }

    [Fact]
    public void A_secret_wins_over_the_digits_inside_it()
    {
        const string Key = "AKIA2345678923456789";

        var found = PiiRecognizers.Find($"key {Key} end", PiiSelection.All);

        Assert.Equal(PiiKinds.Secret, Assert.Single(found).Kind);
    }
}
