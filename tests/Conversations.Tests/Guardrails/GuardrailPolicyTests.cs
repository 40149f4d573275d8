using Conversations.Guardrails;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Guardrails;

/// <summary>A key's guardrails narrow its tenant's: never looser, whichever way either names its entities.</summary>
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class GuardrailPolicyTests
{
    [Fact]
    public void A_key_naming_one_entity_keeps_every_kind_a_tenant_covers_by_naming_none()
    {
        var tenant = new GuardrailPolicy(new PiiPolicy(GuardrailActions.Redact, [])); // no list: every kind
        var key = new GuardrailPolicy(new PiiPolicy(GuardrailActions.Block, [PiiKinds.Email]));

        var narrowed = tenant.NarrowedBy(key).Pii!;

        Assert.True(narrowed.Entities.Count == 0 || PiiKinds.All.All(narrowed.Entities.Contains), $"entities: [{string.Join(", ", narrowed.Entities)}]");
        Assert.Equal(GuardrailActions.Block, narrowed.ActionFor(PiiKinds.Email));
        Assert.All(PiiKinds.All.Where(kind => kind != PiiKinds.Email), kind => Assert.Equal(GuardrailActions.Redact, narrowed.ActionFor(kind))); // the tenant's, kept
    }

    [Fact]
    public void A_key_naming_no_entity_widens_the_kinds_looked_for_to_all_with_the_tenants_actions_kept()
    {
        var tenant = new GuardrailPolicy(new PiiPolicy(GuardrailActions.Redact, [PiiKinds.Email]));
        var key = new GuardrailPolicy(new PiiPolicy(GuardrailActions.Flag, []));

        var narrowed = tenant.NarrowedBy(key).Pii!;

        Assert.True(narrowed.Entities.Count == 0 || PiiKinds.All.All(narrowed.Entities.Contains), $"entities: [{string.Join(", ", narrowed.Entities)}]");
        Assert.Equal(GuardrailActions.Redact, narrowed.ActionFor(PiiKinds.Email));
        Assert.Equal(GuardrailActions.Flag, narrowed.ActionFor(PiiKinds.Phone));
    }
}
