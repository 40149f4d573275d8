using System.Net;
using Microsoft.Playwright;

namespace Conversations.Tests.Portal;

/// <summary>
/// Access requests on the keys page in a real browser: a tenant admin sees a key's pending requests, approves one (the
/// key may then use the model through the API) and denies another (the key reads it as denied); both decisions are in
/// the audit log under the admin API's actions.
/// </summary>
[Collection(PortalCollection.Name)]
public sealed class PortalAccessRequestTests(PortalFixture portal)
{
    [Fact]
    public async Task A_tenant_admin_approves_and_denies_pending_requests_and_the_API_follows()
    {
        var (tenant, adminKey, _) = await portal.NewTenant();
        var (asker, askerKey) = await portal.Admin.CreateKey(tenant, "member",
            new { allowed_models = new[] { "sim-small" }, allowed_endpoints = new[] { "chat", "models" } });
        using var http = portal.Gateway.Http(askerKey);
        Assert.Equal(HttpStatusCode.NotFound, await Status(http, "/v1/models/sim-large"));
        var model = await Ask(http, """{"model":"sim-large","reason":"comparing answers"}""");
        var usage = await Ask(http, """{"endpoint":"usage"}""");

        var page = await portal.SignedIn(adminKey);
        await page.GotoAsync("/portal/keys");
        var pending = page.GetByRole(AriaRole.Table, new() { Name = "Pending access requests" });
        await Assertions.Expect(pending.Locator($"tr[data-access-request='{model}']")).ToContainTextAsync("comparing answers");
        await PortalFixture.Screenshot(page, "access-requests");
        await PortalFixture.AssertAccessible(page);

        await page.GetByRole(AriaRole.Button, new() { Name = "Approve model sim-large for test key" }).ClickAsync();
        await Assertions.Expect(page.Locator($"tr[data-access-request='{model}']")).ToHaveCountAsync(0);
        await page.GetByRole(AriaRole.Button, new() { Name = "Deny endpoints usage for test key" }).ClickAsync();
        await Assertions.Expect(page.GetByText("No pending request")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator($"tr[data-key='{asker}']")).ToContainTextAsync("sim-small, sim-large");

        Assert.Equal(HttpStatusCode.OK, await Status(http, "/v1/models/sim-large"));
        Assert.Equal(HttpStatusCode.Forbidden, await Status(http, "/v1/usage"));
        var own = await portal.Admin.Get($"/v1/admin/tenants/{tenant}/access_requests?status=denied");
        Assert.Equal(usage, Assert.Single(own.GetProperty("data").EnumerateArray()).GetProperty("id").GetString());
        var audit = await portal.Admin.Get($"/v1/admin/audit?tenant={tenant}&action=access_requests");
        Assert.Equal(
            ["POST /v1/admin/tenants/{tenantId}/access_requests/{requestId}/approve", "POST /v1/admin/tenants/{tenantId}/access_requests/{requestId}/deny"],
            audit.GetProperty("data").EnumerateArray().Select(r => r.GetProperty("action").GetString()));
    }

    private static async Task<string> Ask(HttpClient http, string body)
    {
        using var response = await http.PostAsync("/v1/access_requests", Api.ChatCompletionsTests.Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return System.Text.Json.JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
    }

    private static async Task<HttpStatusCode> Status(HttpClient http, string path)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        return response.StatusCode;
    }
}
