using System.Net;
using System.Text.Json;
using Conversations.Tests.Api;
using Microsoft.Playwright;

namespace Conversations.Tests.Portal;

/// <summary>
/// The routes page in a real browser: a tenant's routes with their deployments, health and versions, and a rollback made
/// after a confirmation, which the admin API then reads as a new version; a member cannot open the page or roll back.
/// </summary>
[Collection(PortalCollection.Name)]
public sealed class PortalRoutesTests(PortalFixture portal)
{
    [Fact]
    public async Task A_tenant_admin_rolls_a_route_back_after_confirming_and_the_api_sees_the_new_version()
    {
        var (tenant, adminKey, _) = await portal.NewTenant();
        using var http = portal.Gateway.Http(adminKey);
        var route = $"/v1/admin/tenants/{tenant}/routes/playbook";
        await Put(http, route, "own-a");
        await Put(http, route, "own-b");
        var page = await portal.SignedIn(adminKey);
        await page.GetByRole(AriaRole.Link, new() { Name = "Routes" }).ClickAsync();

        var card = page.Locator("[data-route=playbook]");
        await Assertions.Expect(card).ToContainTextAsync("Version 2, the tenant's own");
        await Assertions.Expect(card.GetByRole(AriaRole.Table, new() { Name = "Deployments of playbook" })).ToContainTextAsync("own-b");
        await PortalFixture.Screenshot(page, "routes");
        await PortalFixture.AssertAccessible(page);
        await card.GetByRole(AriaRole.Link, new() { Name = "Roll back to version 1 of playbook" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Make version 1 current again?" })).ToBeVisibleAsync();
        await PortalFixture.AssertAccessible(page);
        await page.GetByRole(AriaRole.Button, new() { Name = "Confirm rollback" }).ClickAsync();

        await PortalFixture.Reached(page, "/portal/routes");
        await Assertions.Expect(card).ToContainTextAsync("Version 3, the tenant's own");
        await Assertions.Expect(card.GetByRole(AriaRole.Table, new() { Name = "Deployments of playbook" })).ToContainTextAsync("own-a");
        var versions = JsonDocument.Parse(await http.GetStringAsync(new Uri(route + "/versions", UriKind.Relative))).RootElement.GetProperty("data");
        Assert.Equal("rolled back to version 1", versions[2].GetProperty("change").GetString());
        Assert.StartsWith("tenant_admin:", versions[2].GetProperty("created_by").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_member_cannot_open_the_routes_page_nor_post_a_rollback()
    {
        var (tenant, adminKey, memberKey) = await portal.NewTenant();
        using var http = portal.Gateway.Http(adminKey);
        var route = $"/v1/admin/tenants/{tenant}/routes/playbook";
        await Put(http, route, "own-a");
        await Put(http, route, "own-b");
        var page = await portal.SignedIn(memberKey);
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Routes" })).ToHaveCountAsync(0);

        var open = await page.GotoAsync("/portal/routes");
        var post = await page.Context.APIRequest.PostAsync("/portal/routes/playbook/rollback?version=1",
            new() { Form = page.Context.APIRequest.CreateFormData().Set("_handler", "rollback"), MaxRedirects = 0 });

        Assert.Equal((int)HttpStatusCode.Forbidden, open!.Status);
        Assert.Equal((int)HttpStatusCode.Redirect, post.Status); // to the denied page: the handler never runs
        Assert.Contains("/portal/denied", post.Headers["location"], StringComparison.Ordinal);
        var versions = JsonDocument.Parse(await http.GetStringAsync(new Uri(route + "/versions", UriKind.Relative))).RootElement.GetProperty("data");
        Assert.Equal(2, versions.GetArrayLength());
    }

    private static async Task Put(HttpClient http, string route, string deployment)
    {
        using var body = ChatCompletionsTests.Json(JsonSerializer.Serialize(new { deployments = new[] { new { name = deployment, provider = "simulated" } } }));
        using var put = await http.PutAsync(route, body);
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
    }
}
