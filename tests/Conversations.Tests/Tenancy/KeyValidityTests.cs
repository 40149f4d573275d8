using Conversations.Tests.Infrastructure;
using Conversations.Grains.Tenancy;
using Conversations.Tenancy;

namespace Conversations.Tests.Tenancy;

[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class KeyValidityTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 10, 0, 0, TimeSpan.Zero);
    private static readonly TenantSettings Tenant = new("acme", "Acme", false, Limits.None, Limits.None, [], Now);

    [Fact]
    public void Current_secret_is_valid_until_the_key_expires()
    {
        var key = Key(expiresAt: Now.AddHours(1));

        Assert.Equal(Now.AddHours(1), KeyValidity.Check(Tenant, key, "current", Now).Value);
        Assert.Equal("key_expired", KeyValidity.Check(Tenant, key, "current", Now.AddHours(1)).Error?.Code);
    }

    [Fact]
    public void Rotated_out_secret_is_valid_during_the_grace_period_only()
    {
        var key = Key(previous: "old", graceEnd: Now.AddMinutes(10));

        Assert.Equal(Now.AddMinutes(10), KeyValidity.Check(Tenant, key, "old", Now).Value);
        Assert.Equal("invalid_api_key", KeyValidity.Check(Tenant, key, "old", Now.AddMinutes(10)).Error?.Code);
        Assert.True(KeyValidity.Check(Tenant, key, "current", Now.AddMinutes(10)).IsSuccess);
    }

    [Fact]
    public void Revoked_keys_and_disabled_tenants_are_refused()
    {
        Assert.Equal("key_revoked", KeyValidity.Check(Tenant, Key(revokedAt: Now), "current", Now).Error?.Code);
        Assert.Equal("tenant_disabled", KeyValidity.Check(Tenant with { Disabled = true }, Key(), "current", Now).Error?.Code);
        Assert.Equal("invalid_api_key", KeyValidity.Check(Tenant, Key(), "someone-else", Now).Error?.Code);
    }

    private static StoredKey Key(DateTimeOffset? expiresAt = null, DateTimeOffset? revokedAt = null, string? previous = null, DateTimeOffset? graceEnd = null) =>
        new(new ApiKeyInfo("key_1", "acme", "k", "sk-conv-abcd", Role.Member, [], [], Limits.None, Now, expiresAt, revokedAt, graceEnd), "current", previous);
}
