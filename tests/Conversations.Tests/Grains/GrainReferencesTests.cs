using Conversations.Tenancy;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Grains;

/// <summary>References made from the interface's resolved types (the hot path's GetGrain) are the ones Orleans makes, and reach the grain.</summary>
[Collection(ClusterCollection.Name)]
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class GrainReferencesTests(ClusterFixture fixture)
{
    [Fact]
    public async Task A_reference_made_from_resolved_types_is_the_one_GetGrain_makes_and_reaches_its_grain()
    {
        var tenant = $"refs-{Guid.NewGuid():N}";
        var (firstKey, secondKey) = (GrainKeys.For(tenant, "conv_first"), GrainKeys.For(tenant, "conv_second"));

        var first = fixture.Grains.Reference<IConversationGrain>(firstKey);
        var second = fixture.Grains.Reference<IConversationGrain>(secondKey); // resolved by now, whichever call resolved it
        var quota = fixture.Grains.Reference<ITenantQuotaGrain>(tenant);

        Assert.Equal(Identity(fixture.Grains.GetGrain<IConversationGrain>(firstKey)), Identity(first));
        Assert.Equal(Identity(fixture.Grains.GetGrain<IConversationGrain>(secondKey)), Identity(second));
        Assert.Equal(Identity(fixture.Grains.GetGrain<ITenantQuotaGrain>(tenant)), Identity(quota));
        Assert.True((await second.Create(new Dictionary<string, string>(), [new NewItem(Roles.User, "hello")])).IsSuccess);
        var items = await fixture.Grains.GetGrain<IConversationGrain>(secondKey).ListItems(new ItemQuery(null, 10, Ascending: true));
        Assert.Equal(["hello"], items.Value?.Items.Select(i => i.Text));
    }

    private static (GrainId, GrainInterfaceType) Identity(IAddressable grain) =>
        (((GrainReference)grain).GrainId, ((GrainReference)grain).InterfaceType);
}
