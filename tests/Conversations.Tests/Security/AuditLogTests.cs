using System.Net;
using System.Text.Json;
using Conversations.Tests.Api;
using Conversations.Tests.Infrastructure;
using Conversations.Tests.Tenancy;

namespace Conversations.Tests.Security;

/// <summary>
/// The audit log of administrative actions over HTTP: each admin endpoint that changes something writes its record
/// (who, from where, what, before and after, never a key's secret), tenant admins read their own tenant's, filtered
/// and paged, and export it as JSON Lines and CSV; members cannot read it.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class AuditLogTests(GatewayFixture fixture)
{
    private readonly HttpClient _platformAdmin = fixture.Gateway.Http();

    [Fact]
    public async Task Every_admin_change_writes_its_record_with_before_and_after_and_no_secret()
    {
        var admin = new TenantClient(_platformAdmin);
        var tenant = await admin.CreateTenant();
        await admin.Post($"/v1/admin/tenants/{tenant}", """{"limits":{"requests_per_minute":60}}""");
        var (key, secret) = await admin.CreateKey(tenant);
        await admin.Post($"/v1/admin/tenants/{tenant}/keys/{key}", """{"allowed_ips":["10.0.0.0/8"]}""");
        var rotated = (await admin.Post($"/v1/admin/tenants/{tenant}/keys/{key}/rotate")).GetProperty("secret").GetString()!;
        await admin.Post($"/v1/admin/tenants/{tenant}/keys/{key}/revoke");
        using (var route = await _platformAdmin.PutAsync($"/v1/admin/tenants/{tenant}/routes/sim-small", ChatCompletionsTests.Json("""{"deployments":[{"name":"a","provider":"simulated"}]}""")))
        {
            Assert.Equal(HttpStatusCode.OK, route.StatusCode);
        }

        await admin.Post($"/v1/admin/tenants/{tenant}/cache/purge", """{"alias":"sim-small"}""");

        using (var refused = await _platformAdmin.PostAsync($"/v1/admin/tenants/{tenant}", ChatCompletionsTests.Json("""{"limits":{"requests_per_minute":-1}}""")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode); // refused: nothing changed, nothing recorded
        }

        var (records, raw) = await Records(_platformAdmin, $"tenant={tenant}");

        Assert.Equal(
        [
            "POST /v1/admin/tenants/", "POST /v1/admin/tenants/{tenantId}", "POST /v1/admin/tenants/{tenantId}/keys", "POST /v1/admin/tenants/{tenantId}/keys/{keyId}",
            "POST /v1/admin/tenants/{tenantId}/keys/{keyId}/rotate", "POST /v1/admin/tenants/{tenantId}/keys/{keyId}/revoke", "PUT /v1/admin/tenants/{tenantId}/routes/{alias}",
            "POST /v1/admin/tenants/{tenantId}/cache/purge",
        ], records.Select(r => r.GetProperty("action").GetString()));
        Assert.All(records, r => Assert.Equal(tenant, r.GetProperty("tenant").GetString()));
        Assert.All(records, r => Assert.Equal("platform_admin", r.GetProperty("actor_role").GetString()));
        Assert.All(records, r => Assert.False(string.IsNullOrEmpty(r.GetProperty("address").GetString())));
        var limits = records[1];
        Assert.False(limits.GetProperty("before").GetProperty("limits").TryGetProperty("requests_per_minute", out var was) && was.ValueKind == JsonValueKind.Number);
        Assert.Equal(60, limits.GetProperty("after").GetProperty("limits").GetProperty("requests_per_minute").GetInt32());
        Assert.Equal("10.0.0.0/8", records[3].GetProperty("after").GetProperty("allowed_ips")[0].GetString());
        Assert.False(records[3].GetProperty("before").TryGetProperty("allowed_ips", out _));
        Assert.Equal("revoked", records[5].GetProperty("after").GetProperty("status").GetString());
        Assert.DoesNotContain(secret, raw, StringComparison.Ordinal);
        Assert.DoesNotContain(rotated, raw, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tenant_admin_reads_its_own_log_filtered_and_paged_and_a_member_cannot()
    {
        var admin = new TenantClient(_platformAdmin);
        var tenant = await admin.CreateTenant();
        var (tenantAdminKey, tenantAdmin) = await admin.CreateKey(tenant, "tenant_admin");
        var (_, member) = await admin.CreateKey(tenant);
        var (_, chatOnlyAdmin) = await admin.CreateKey(tenant, "tenant_admin", new { allowed_endpoints = new[] { "chat" } });
        var own = new TenantClient(fixture.Gateway.Http(tenantAdmin));
        for (var i = 0; i < 3; i++)
        {
            await own.CreateKey(tenant);
        }

        var (all, _) = await Records(fixture.Gateway.Http(tenantAdmin), string.Empty);
        var (byActor, _) = await Records(fixture.Gateway.Http(tenantAdmin), $"actor={tenantAdminKey}&action=keys");
        var (firstPage, firstRaw) = await Records(fixture.Gateway.Http(tenantAdmin), $"actor={tenantAdminKey}&limit=2");
        var (secondPage, _) = await Records(fixture.Gateway.Http(tenantAdmin), $"actor={tenantAdminKey}&limit=2&after={firstPage[^1].GetProperty("id").GetString()}");
        using var memberRead = await fixture.Gateway.Http(member).GetAsync(new Uri("/v1/admin/audit", UriKind.Relative));
        using var otherTenant = await fixture.Gateway.Http(tenantAdmin).GetAsync(new Uri("/v1/admin/audit?tenant=default", UriKind.Relative));
        using var outsideItsScope = await fixture.Gateway.Http(chatOnlyAdmin).GetAsync(new Uri("/v1/admin/audit", UriKind.Relative));

        Assert.Equal(7, all.Count); // the tenant, three keys by the platform admin, three by the tenant admin
        Assert.Equal(3, byActor.Count);
        Assert.Equal(2, firstPage.Count);
        Assert.True(JsonDocument.Parse(firstRaw).RootElement.GetProperty("has_more").GetBoolean());
        Assert.Single(secondPage);
        Assert.DoesNotContain(secondPage[0].GetProperty("id").GetString(), firstPage.Select(r => r.GetProperty("id").GetString()));
        await memberRead.AssertOpenAIError(HttpStatusCode.Forbidden);
        await otherTenant.AssertOpenAIError(HttpStatusCode.NotFound);
        await outsideItsScope.AssertOpenAIError(HttpStatusCode.Forbidden); // a tenant admin's key scoped to chat only
    }

    [Fact]
    public async Task The_log_exports_as_json_lines_and_csv_with_the_same_records()
    {
        var admin = new TenantClient(_platformAdmin);
        var tenant = await admin.CreateTenant();
        await admin.Post($"/v1/admin/tenants/{tenant}", """{"name":"Acme, \"the\" company"}""");
        await admin.CreateKey(tenant);

        var (records, _) = await Records(_platformAdmin, $"tenant={tenant}");
        var lines = (await _platformAdmin.GetStringAsync(new Uri($"/v1/admin/audit?tenant={tenant}&format=jsonl", UriKind.Relative)))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var csv = await _platformAdmin.GetStringAsync(new Uri($"/v1/admin/audit?tenant={tenant}&format=csv", UriKind.Relative));

        Assert.Equal(records.Select(r => r.GetRawText()), lines.Select(line => JsonDocument.Parse(line).RootElement.GetRawText()));
        var rows = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("id,created_at,tenant,actor_key", rows[0], StringComparison.Ordinal);
        Assert.Equal(records.Select(r => r.GetProperty("id").GetString()), rows.Skip(1).Select(row => row[..row.IndexOf(',', StringComparison.Ordinal)]));
        Assert.Contains("\"name\":\"Acme, \\\"the\\\" company\"".Replace("\"", "\"\"", StringComparison.Ordinal), csv, StringComparison.Ordinal); // quoted, quotes doubled
    }

    private static async Task<(List<JsonElement> Records, string Raw)> Records(HttpClient http, string query)
    {
        using var response = await http.GetAsync(new Uri("/v1/admin/audit?" + query, UriKind.Relative));
        var raw = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, raw);
        return ([.. JsonDocument.Parse(raw).RootElement.GetProperty("data").EnumerateArray()], raw);
    }
}
