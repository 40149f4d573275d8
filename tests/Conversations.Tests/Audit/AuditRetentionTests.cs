using System.Net;
using System.Text.Json;
using Conversations.Audit;
using Conversations.Grains.Audit;
using Conversations.Tests.Api;
using Conversations.Tests.Infrastructure;
using Conversations.Tests.Tenancy;
using Microsoft.Extensions.DependencyInjection;

namespace Conversations.Tests.Audit;

/// <summary>
/// Audit records, admin and call, expire after the tenant's retention (else the platform's): on a clock the test moves,
/// the days past retention are removed from storage and never shown, and newer records are kept (decision 0051).
/// </summary>
public sealed class AuditRetentionTests(ManualClockGatewayFixture fixture) : IClassFixture<ManualClockGatewayFixture>
{
    private readonly HttpClient _platformAdmin = fixture.Gateway.Http();

    [Fact]
    public async Task Days_past_a_tenants_retention_are_removed_and_newer_records_and_other_tenants_kept()
    {
        var admin = new TenantClient(_platformAdmin);
        var (shortLived, longLived) = (await admin.CreateTenant(), await admin.CreateTenant());
        await admin.Post($"/v1/admin/tenants/{shortLived}", """{"audit_retention_days":2}""");
        var oldDay = Today();
        await Call(shortLived, admin);
        await Call(longLived, admin); // the platform's 90 days
        await Flushed();

        fixture.Clock.Advance(TimeSpan.FromDays(3));
        await Call(shortLived, admin);
        await Flushed();
        var (kept, _) = await Records($"tenant={shortLived}&from={fixture.Clock.GetUtcNow().AddDays(-10).ToUnixTimeSeconds()}");
        var (other, _) = await Records($"tenant={longLived}&from={fixture.Clock.GetUtcNow().AddDays(-10).ToUnixTimeSeconds()}");

        var oldRecords = Day(shortLived, oldDay);
        Assert.Empty(await oldRecords.List());
        Assert.Empty(await oldRecords.ListCalls());
        Assert.Equal(["admin", "call"], kept.Select(r => r.GetProperty("kind").GetString()).Order()); // the new key and its call (one instant: any order)
        Assert.All(kept, r => Assert.True(r.GetProperty("created_at").GetInt64() >= fixture.Clock.GetUtcNow().AddDays(-2).ToUnixTimeSeconds()));
        Assert.Equal(["admin", "admin", "call"], other.Select(r => r.GetProperty("kind").GetString()).Order());
        Assert.NotEmpty(await Day(longLived, oldDay).ListCalls());
    }

    [Fact]
    public async Task A_retention_beyond_the_platforms_bounds_is_refused_and_the_tenant_shows_the_one_it_set()
    {
        var admin = new TenantClient(_platformAdmin);
        var tenant = await admin.CreateTenant();
        using var zero = await _platformAdmin.PostAsync($"/v1/admin/tenants/{tenant}", ChatCompletionsTests.Json("""{"audit_retention_days":0}"""));
        using var tooLong = await _platformAdmin.PostAsync($"/v1/admin/tenants/{tenant}", ChatCompletionsTests.Json("""{"audit_retention_days":100000}"""));
        var set = await admin.Post($"/v1/admin/tenants/{tenant}", """{"audit_retention_days":30}""");

        await zero.AssertOpenAIError(HttpStatusCode.BadRequest, "audit_retention_days");
        await tooLong.AssertOpenAIError(HttpStatusCode.BadRequest, "audit_retention_days");
        Assert.Equal(30, set.GetProperty("audit_retention_days").GetInt32());
        Assert.Equal(30, (await admin.Get($"/v1/admin/tenants/{tenant}")).GetProperty("audit_retention_days").GetInt32());
    }

    private DateOnly Today() => DateOnly.FromDateTime(fixture.Clock.GetUtcNow().UtcDateTime);

    private IAuditGrain Day(string tenant, DateOnly day) =>
        fixture.Gateway.Services.GetRequiredService<IGrainFactory>().GetGrain<IAuditGrain>(AuditKeys.Day(tenant, day));

    /// <summary>A new member key of the tenant (an admin record) makes one call (a call record).</summary>
    private async Task Call(string tenant, TenantClient admin)
    {
        var (_, secret) = await admin.CreateKey(tenant);
        using var answered = await fixture.Gateway.Http(secret).PostAsync("/v1/chat/completions", ChatCompletionsTests.Json("""{"model":"sim-small","messages":[{"role":"user","content":"Hi."}]}"""));
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
    }

    private async Task Flushed() => Assert.Null(await fixture.Gateway.Services.GetRequiredService<CallAuditLog>().Flush());

    private async Task<(List<JsonElement> Records, string Raw)> Records(string query)
    {
        using var response = await _platformAdmin.GetAsync(new Uri("/v1/admin/audit?" + query, UriKind.Relative));
        var raw = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, raw);
        return ([.. JsonDocument.Parse(raw).RootElement.GetProperty("data").EnumerateArray()], raw);
    }
}
