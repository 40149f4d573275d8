using Conversations.Context;
using Conversations.Grains.Context;
using Conversations.Providers;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Context;

/// <summary>Facts carry when their value was stated; an update keeps the older value only as superseded, or drops it, by policy.</summary>
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class FactTimesTests
{
    private static readonly ContextBuilder Builder = new(TokenCounter.Shared);
    private static readonly DateTimeOffset Monday = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Friday = new(2026, 3, 6, 17, 30, 0, TimeSpan.Zero);

    [Fact]
    public void A_changed_value_is_dated_when_it_changed_and_remembers_the_value_it_replaced_while_an_unchanged_one_keeps_its_date()
    {
        var monday = FactTime.Stamp(new Dictionary<string, string>(), Facts(("city", "Tromsø"), ("pet", "cat")), new Dictionary<string, FactTime>(), Monday);

        var friday = FactTime.Stamp(Facts(("city", "Tromsø"), ("pet", "cat")), Facts(("city", "Bergen"), ("pet", "cat"), ("car", "Volvo")), monday, Friday);

        Assert.Equal(new FactTime(Friday, "Tromsø", Monday), friday["city"]);
        Assert.Equal(new FactTime(Monday), friday["pet"]);
        Assert.Equal(new FactTime(Friday), friday["car"]);
    }

    [Fact]
    public void A_removed_fact_loses_its_date_and_a_fact_from_before_facts_were_dated_stays_undated()
    {
        var stamped = FactTime.Stamp(Facts(("city", "Bergen"), ("old", "kept")), Facts(("old", "kept")), new Dictionary<string, FactTime> { ["city"] = new(Monday) }, Friday);

        Assert.Empty(stamped);
    }

    [Theory]
    [InlineData(SupersededPolicies.Mark, "- city: Bergen (since 2026-03-06 17:30 UTC; before that Tromsø, since 2026-03-02 09:00 UTC, superseded by a later message)")]
    [InlineData(SupersededPolicies.Drop, "- city: Bergen (since 2026-03-06 17:30 UTC)")]
    public void The_facts_section_dates_each_fact_and_shows_the_value_an_update_replaced_only_as_superseded_by_policy(string policy, string cityLine)
    {
        var times = new Dictionary<string, FactTime> { ["city"] = new(Friday, "Tromsø", Monday), ["pet"] = new(Monday) };

        var built = Builder.Build(new ContextInputs(null, Facts(("city", "Bergen"), ("pet", "cat"), ("undated", "yes")), [], [Input("where do I live?")], 10_000,
            new ContextPolicy(RecallSuperseded: policy)) { FactTimes = times });

        Assert.Equal(
            [ContextBuilder.FactsHeading, cityLine, "- pet: cat (since 2026-03-02 09:00 UTC)", "- undated: yes"],
            built.Value!.Messages[0].Text.Split('\n'));
    }

    private static Dictionary<string, string> Facts(params (string Key, string Value)[] facts) => facts.ToDictionary(f => f.Key, f => f.Value, StringComparer.Ordinal);

    private static ConversationItem Input(string text) => new("msg_input", Roles.User, text, TokenCounter.Shared.Count(text), Friday);
}
