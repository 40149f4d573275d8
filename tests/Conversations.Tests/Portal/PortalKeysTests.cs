using System.Net;
using System.Net.Http.Headers;
using Microsoft.Playwright;

namespace Conversations.Tests.Portal;

/// <summary>
/// The keys page in a real browser: a tenant admin creates a key and sees its secret once, rotates it, revokes it, and the
/// API then refuses the revoked key; the page's changes are in the audit log as the admin API's are; a key wider than the
/// admin's own is refused as the API refuses it.
/// </summary>
[Collection(PortalCollection.Name)]
public sealed class PortalKeysTests(PortalFixture portal)
{
    [Fact]
    public async Task An_admin_creates_a_key_sees_its_secret_once_rotates_and_revokes_it_and_the_API_then_refuses_it()
    {
        var (tenant, adminKey, _) = await portal.NewTenant();
        var page = await portal.SignedIn(adminKey);
        await page.GetByRole(AriaRole.Link, new() { Name = "Keys" }).ClickAsync();

        await page.GetByLabel("Name").FillAsync("ci-bot");
        await page.GetByLabel("Models").FillAsync("sim-small");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create key" }).ClickAsync();
        var secret = await page.GetByLabel("New secret").InputValueAsync();

        Assert.StartsWith("sk-", secret, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, await ModelsStatus(secret));
        await page.GotoAsync("/portal/keys"); // a new visit, not a reload (which would post the form again)
        await Assertions.Expect(page.GetByLabel("New secret")).ToHaveCountAsync(0); // shown once
        Assert.DoesNotContain(secret, await page.ContentAsync(), StringComparison.Ordinal);

        await page.GetByRole(AriaRole.Button, new() { Name = "Rotate ci-bot" }).ClickAsync();
        var rotated = await page.GetByLabel("New secret").InputValueAsync();
        Assert.NotEqual(secret, rotated);
        Assert.Equal(HttpStatusCode.OK, await ModelsStatus(rotated));

        await page.GetByRole(AriaRole.Button, new() { Name = "Revoke ci-bot" }).ClickAsync();
        var row = page.Locator("tr", new() { HasText = "ci-bot" });
        await Assertions.Expect(row).ToContainTextAsync("revoked");
        Assert.Equal(HttpStatusCode.Unauthorized, await ModelsStatus(rotated));
        Assert.Equal(HttpStatusCode.Unauthorized, await ModelsStatus(secret)); // the grace period of a revoked key ends too

        var audit = await portal.Admin.Get($"/v1/admin/audit?tenant={tenant}");
        var actions = audit.GetProperty("data").EnumerateArray().Select(r => r.GetProperty("action").GetString()).ToList();
        Assert.Contains("POST /v1/admin/tenants/{tenantId}/keys", actions);
        Assert.Contains("POST /v1/admin/tenants/{tenantId}/keys/{keyId}/rotate", actions);
        Assert.Contains("POST /v1/admin/tenants/{tenantId}/keys/{keyId}/revoke", actions);
        Assert.DoesNotContain(secret, audit.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_wider_than_the_admin_s_own_is_refused_as_the_API_refuses_it()
    {
        var tenant = await portal.Admin.CreateTenant();
        var (_, scoped) = await portal.Admin.CreateKey(tenant, "tenant_admin", new { allowed_models = new[] { "sim-small" } });
        var page = await portal.SignedIn(scoped);
        await page.GotoAsync("/portal/keys");

        await page.GetByLabel("Name").FillAsync("wider");
        await page.GetByLabel("Models").FillAsync("sim-large");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create key" }).ClickAsync();

        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("allowed_models");
        await Assertions.Expect(page.GetByLabel("New secret")).ToHaveCountAsync(0);
        var keys = await portal.Admin.Get($"/v1/admin/tenants/{tenant}/keys");
        Assert.DoesNotContain(keys.GetProperty("data").EnumerateArray(), k => k.GetProperty("name").GetString() == "wider");
    }

    [Fact]
    public async Task The_keys_page_has_no_accessibility_violations()
    {
        var (_, adminKey, _) = await portal.NewTenant();
        var page = await portal.SignedIn(adminKey);
        await page.GotoAsync("/portal/keys");
        await page.GetByLabel("Name").FillAsync("a11y");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create key" }).ClickAsync();
        await Assertions.Expect(page.GetByLabel("New secret")).ToBeVisibleAsync();

        await PortalFixture.Screenshot(page, "keys");
        await PortalFixture.AssertAccessible(page);
    }

    private async Task<HttpStatusCode> ModelsStatus(string key)
    {
        using var http = portal.Gateway.Http(null);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await http.GetAsync("/v1/models");
        return response.StatusCode;
    }
}
