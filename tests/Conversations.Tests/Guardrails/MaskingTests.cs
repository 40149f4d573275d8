using Conversations.Grains.Guardrails;
using Conversations.Guardrails;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Guardrails;

/// <summary>The input screen's masks and their restoring in whole and streamed answers, and the output window, as pure steps.</summary>
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class MaskingTests
{
    private static readonly GuardrailPolicy MaskAll = new(new PiiPolicy(GuardrailActions.Mask, PiiKinds.All));

    [Fact]
    public void Masked_values_become_numbered_placeholders_the_same_one_for_a_repeated_value()
    {
        var screened = PromptScreen.Run(
            [new(Roles.User, "mail ana@example.com or bo@example.com, again ana@example.com; card 4111 1111 1111 1111")], MaskAll);

        Assert.Null(screened.Blocked);
        Assert.Equal("mail <EMAIL_1> or <EMAIL_2>, again <EMAIL_1>; card <CREDIT_CARD_1>", screened.Messages[0].Text);
        Assert.Equal("ana@example.com bo@example.com 4111 1111 1111 1111", screened.Masks.Restore("<EMAIL_1> <EMAIL_2> <CREDIT_CARD_1>"));
        Assert.Equal("pii.email=mask*3, pii.credit_card=mask", screened.Report!.Describe());
    }

    [Fact]
    public void A_placeholder_split_across_chunks_at_any_point_is_restored()
    {
        var screened = PromptScreen.Run([new(Roles.User, "I am eve@example.io, call +44 20 7946 0958")], MaskAll);
        var answer = "You said: I am <EMAIL_1>, call <PHONE_1> <3 <EMAIL_9> done";

        for (var split = 1; split < answer.Length; split++)
        {
            for (var second = split + 1; second <= answer.Length; second += 7)
            {
                var restorer = new StreamRestorer(screened.Masks);
                var streamed = restorer.Push(answer[..split]) + restorer.Push(answer[split..second]) + restorer.Push(answer[second..]) + restorer.Flush();

                Assert.Equal("You said: I am eve@example.io, call +44 20 7946 0958 <3 <EMAIL_9> done", streamed);
            }
        }
    }

    [Fact]
    public void Redact_replaces_values_for_good_and_block_names_the_guardrail()
    {
        var redact = PromptScreen.Run([new(Roles.User, "my ssn is 123-45-6789")], new(new PiiPolicy(GuardrailActions.Redact, PiiKinds.All)));
        var block = PromptScreen.Run([new(Roles.User, "key sk-proj-abcdefghijklmnopqrstuvwxyz123")], new(new PiiPolicy(GuardrailActions.Block, PiiKinds.All)));

        Assert.Equal("my ssn is [US_SSN]", redact.Messages[0].Text);
        Assert.True(redact.Masks.IsEmpty);
        Assert.Equal(400, block.Blocked!.Status);
        Assert.Equal("guardrail_blocked", block.Blocked.Code);
        Assert.Contains("'pii' guardrail", block.Blocked.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-proj", block.Blocked.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Per_entity_actions_override_the_default_and_flag_changes_nothing()
    {
        var policy = new PiiPolicy(GuardrailActions.Mask, PiiKinds.All, new Dictionary<string, string> { [PiiKinds.IpAddress] = GuardrailActions.Flag, [PiiKinds.Iban] = GuardrailActions.Redact });

        var screened = PromptScreen.Run([new(Roles.User, "from 10.1.2.3 pay GB82 WEST 1234 5698 7654 32 to a@example.com")], new(policy));

        Assert.Equal("from 10.1.2.3 pay [IBAN] to <EMAIL_1>", screened.Messages[0].Text);
        Assert.Equal("pii.ip_address=flag, pii.iban=redact, pii.email=mask", screened.Report!.Describe());
    }

    [Fact]
    public void A_key_policy_only_makes_its_tenant_policy_stricter()
    {
        var tenant = new GuardrailPolicy(new PiiPolicy(GuardrailActions.Mask, [PiiKinds.Email]), new InjectionPolicy(GuardrailActions.Block));
        var key = new GuardrailPolicy(new PiiPolicy(GuardrailActions.Flag, [PiiKinds.Phone], new Dictionary<string, string> { [PiiKinds.Phone] = GuardrailActions.Block }), new InjectionPolicy(GuardrailActions.Flag));

        var narrowed = tenant.NarrowedBy(key);

        Assert.Equal(GuardrailActions.Mask, narrowed.Pii!.ActionFor(PiiKinds.Email));
        Assert.Equal(GuardrailActions.Block, narrowed.Pii.ActionFor(PiiKinds.Phone));
        Assert.Equal(GuardrailActions.Block, narrowed.Injection!.Action);
    }

    [Fact]
    public void The_output_window_redacts_an_entity_split_across_chunks_and_holds_back_a_bounded_tail()
    {
        var answer = string.Concat(Enumerable.Repeat("Some harmless words of an answer. ", 6)) + "Reach ops at ops.team@example.org or 4111-1111-1111-1111 now. " + new string('x', 10);

        for (var size = 1; size <= 40; size += 3)
        {
            var window = new AnswerWindow(new PiiRewriter(PiiSelection.All, _ => GuardrailActions.Redact, "output", new GuardrailTally()));
            var sent = new System.Text.StringBuilder();
            var maxHeld = 0;
            var pushed = 0;
            foreach (var chunk in answer.Chunk(size).Select(c => new string(c)))
            {
                pushed += chunk.Length;
                var (text, blocked) = window.Push(chunk);
                Assert.Null(blocked);
                sent.Append(text);
                maxHeld = Math.Max(maxHeld, pushed - sent.Length);
            }

            sent.Append(window.Flush().Text);

            Assert.Equal(answer.Replace("ops.team@example.org", "[EMAIL]", StringComparison.Ordinal).Replace("4111-1111-1111-1111", "[CREDIT_CARD]", StringComparison.Ordinal), sent.ToString());
            Assert.True(maxHeld <= AnswerWindow.Hold + AnswerWindow.Step + size + 20, $"held {maxHeld} characters with chunks of {size}");
        }
    }
}
