using System.Net;
using Microsoft.Playwright;

namespace Conversations.Tests.Portal;

/// <summary>
/// The prompt pages in a real browser: a tenant admin pages through the tenant's prompts, newest first (the tenant's prompt
/// directory, decision 0087), opens a prompt by id, sees its versions and labels, and moves the
/// production label back a version after a confirmation (a rollback), which the admin API then reads and the audit log
/// records; a member cannot open the pages.
/// </summary>
[Collection(PortalCollection.Name)]
public sealed class PortalPromptsTests(PortalFixture portal)
{
    [Fact]
    public async Task A_tenant_admin_moves_a_label_back_after_confirming_and_the_API_sees_it()
    {
        var (tenant, adminKey, memberKey) = await portal.NewTenant();
        var api = new Tenancy.TenantClient(portal.Gateway.Http(adminKey));
        var prompts = $"/v1/admin/tenants/{tenant}/prompts";
        var id = (await api.Post(prompts, """{"model":"sim-small","instructions":"You answer for {{company}}.","variables":{"company":"string"}}""")).GetProperty("id").GetString()!;
        await api.Post($"{prompts}/{id}/versions", """{"model":"sim-small","instructions":"You answer briefly for {{company}}.","variables":{"company":"string"}}""");
        using var http = portal.Gateway.Http(adminKey);
        using (var put = await http.PutAsync($"{prompts}/{id}/labels/production", Api.ChatCompletionsTests.Json("""{"version":2}""")))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        var page = await portal.SignedIn(adminKey);
        await page.GetByRole(AriaRole.Link, new() { Name = "Prompts" }).ClickAsync();
        await page.GetByLabel("Prompt id").FillAsync(id);
        await page.GetByRole(AriaRole.Button, new() { Name = "Open" }).ClickAsync();
        var production = page.Locator("tr[data-label=production]");
        await Assertions.Expect(production).ToContainTextAsync("2");
        await Assertions.Expect(page.GetByRole(AriaRole.Article, new() { Name = "Version 1" })).ToContainTextAsync("You answer for {{company}}.");
        await PortalFixture.Screenshot(page, "prompt");
        await PortalFixture.AssertAccessible(page);

        await page.GetByRole(AriaRole.Link, new() { Name = "Move production to version 1" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Point production at version 1?" })).ToBeVisibleAsync();
        await PortalFixture.AssertAccessible(page);
        await page.GetByRole(AriaRole.Button, new() { Name = "Confirm move" }).ClickAsync();

        await PortalFixture.Reached(page, $"/portal/prompts/{id}");
        await Assertions.Expect(production.Locator("td").First).ToHaveTextAsync("1");
        Assert.Equal(1, (await api.Get($"{prompts}/{id}")).GetProperty("labels").GetProperty("production").GetInt32());
        var audit = await portal.Admin.Get($"/v1/admin/audit?tenant={tenant}&action=labels");
        Assert.Contains(audit.GetProperty("data").EnumerateArray(), r => r.GetProperty("action").GetString() == "PUT /v1/admin/tenants/{tenantId}/prompts/{promptId}/labels/{label}"
            && r.GetProperty("target").GetString()!.StartsWith("/portal/", StringComparison.Ordinal));

        var member = await portal.SignedIn(memberKey);
        Assert.Equal((int)HttpStatusCode.Forbidden, (await member.GotoAsync($"/portal/prompts/{id}"))!.Status);
    }

    [Fact]
    public async Task The_prompts_page_lists_the_tenant_s_prompts_newest_first_a_page_at_a_time_and_no_other_tenant_s()
    {
        var (tenant, adminKey, _) = await portal.NewTenant();
        var (otherTenant, otherAdmin, _) = await portal.NewTenant();
        var api = new Tenancy.TenantClient(portal.Gateway.Http(adminKey));
        var ids = new List<string>();
        foreach (var company in new[] { "Acme", "Globex", "Initech" })
        {
            ids.Add((await api.Post($"/v1/admin/tenants/{tenant}/prompts", $$"""{"model":"sim-small","instructions":"You answer for {{company}}."}""")).GetProperty("id").GetString()!);
        }

        var foreign = (await new Tenancy.TenantClient(portal.Gateway.Http(otherAdmin)).Post($"/v1/admin/tenants/{otherTenant}/prompts", """{"instructions":"Elsewhere."}"""))
            .GetProperty("id").GetString()!;
        await api.Post($"/v1/admin/tenants/{tenant}/prompts/{ids[0]}/versions", """{"instructions":"A later version."}"""); // listed once, as created

        var page = await portal.SignedIn(adminKey);
        await page.GotoAsync("/portal/prompts?limit=2");
        var rows = page.GetByRole(AriaRole.Table, new() { Name = "Prompts" }).Locator("tbody tr");
        await Assertions.Expect(rows).ToHaveCountAsync(2);
        var firstPage = await rows.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.prompt)");
        await page.GetByRole(AriaRole.Link, new() { Name = "Next page" }).ClickAsync();
        await Assertions.Expect(rows).ToHaveCountAsync(1);
        var secondPage = await rows.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.prompt)");
        await Assertions.Expect(rows.First).ToContainTextAsync("You answer for Acme.");
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Next page" })).ToHaveCountAsync(0);
        await page.GotoAsync("/portal/prompts");
        await PortalFixture.Screenshot(page, "prompts");
        await PortalFixture.AssertAccessible(page);
        await page.GetByRole(AriaRole.Link, new() { Name = ids[1] }).ClickAsync();

        await PortalFixture.Reached(page, $"/portal/prompts/{ids[1]}");
        Assert.Equal([ids[2], ids[1], ids[0]], [.. firstPage, .. secondPage]);
        Assert.DoesNotContain(foreign, firstPage.Concat(secondPage));
    }
}
