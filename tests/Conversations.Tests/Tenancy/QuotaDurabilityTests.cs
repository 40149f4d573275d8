using Conversations.Grains.Quotas;
using Conversations.Tenancy;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Tenancy;

/// <summary>
/// A quota grain answers an admission only once storage could restore it after a crash: the call is in the stored state,
/// or within the headroom that state grants, which a new activation counts as used (decision 0027). Writes stay batched:
/// not one per call. The cluster's quota grains write only when they must (no timer flush during a test).
/// </summary>
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class QuotaDurabilityTests(StorageFaultFixture fixture) : IClassFixture<StorageFaultFixture>
{
    [Fact]
    public async Task Every_answered_admission_is_stored_or_within_the_stored_headroom_and_writes_are_batched()
    {
        var (quota, caller) = Tenant(new Limits(RequestsPerMinute: 10_000));
        var answeredWithoutWrite = 0;

        for (var answered = 1; answered <= 60; answered++)
        {
            Assert.True((await quota.Admit(Request(caller))).IsSuccess);

            var stored = await fixture.Stored<QuotaState>("quota", quota);
            Assert.NotNull(stored);
            var recorded = stored.Windows.GetValueOrDefault("key:key_a")?.Sum(bucket => bucket.Requests) ?? 0;
            Assert.True(recorded + stored.Headroom.Requests >= answered, $"Admission {answered} answered, but storage restores {recorded} + {stored.Headroom.Requests} headroom.");
            answeredWithoutWrite += recorded < answered ? 1 : 0;
        }

        Assert.True(answeredWithoutWrite > 30, $"Only {answeredWithoutWrite} of 60 admissions were answered within the headroom, without waiting for a write.");
    }

    [Fact]
    public async Task An_admission_under_a_concurrency_limit_is_answered_only_once_its_lease_is_stored()
    {
        var (quota, caller) = Tenant(new Limits(MaxConcurrentRequests: 100));

        for (var i = 0; i < 10; i++)
        {
            var request = Request(caller);
            Assert.True((await quota.Admit(request)).IsSuccess);

            var stored = await fixture.Stored<QuotaState>("quota", quota);
            Assert.Contains(stored!.Leases, lease => lease.Id == request.LeaseId);
        }
    }

    private (ITenantQuotaGrain Quota, Caller Caller) Tenant(Limits keyLimits)
    {
        var tenant = "quota-" + Guid.NewGuid().ToString("N")[..8];
        return (fixture.Grains.GetGrain<ITenantQuotaGrain>(tenant), new Caller(tenant, "key_a", Role.Member, [], [], keyLimits, Limits.None, Limits.None));
    }

    private static AdmissionRequest Request(Caller caller) => new(Guid.NewGuid().ToString("N"), caller, null, 100, 0.0001m);
}
