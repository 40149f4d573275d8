using System.Net;
using System.Text.Json;
using Conversations.Tests.Api;
using Conversations.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Conversations.Tests.Portal;

/// <summary>
/// The webhooks pages in a real browser: a tenant admin registers an endpoint on a loopback receiver (allowed by the
/// portal fixture's settings only) and copies its secret, shown once; a background response's event reaches the
/// receiver signed with it, shows in the endpoint's delivery log, and is redelivered from there; the endpoint is disabled,
/// enabled and deleted.
/// A member is refused the pages, as the webhook admin API refuses it.
/// </summary>
[Collection(PortalCollection.Name)]
public sealed class PortalWebhooksTests(PortalFixture portal)
{
    [Fact]
    public async Task A_tenant_admin_registers_an_endpoint_sees_its_delivery_in_the_log_and_redelivers_it()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var (tenant, adminKey, _) = await portal.NewTenant();
        var page = await portal.SignedIn(adminKey);
        await page.GetByRole(AriaRole.Link, new() { Name = "Webhooks" }).ClickAsync();

        await page.GetByLabel("URL").FillAsync(receiver.Url);
        await page.GetByLabel("Description").FillAsync("Order bot");
        await page.GetByRole(AriaRole.Button, new() { Name = "Register endpoint" }).ClickAsync();
        receiver.Secret = await page.GetByLabel("New signing secret").InputValueAsync();
        var row = page.GetByRole(AriaRole.Table, new() { Name = "Webhook endpoints" }).Locator("tbody tr");
        await Assertions.Expect(row).ToHaveCountAsync(1);
        await Assertions.Expect(row).ToContainTextAsync("response.completed");
        await PortalFixture.Screenshot(page, "webhooks");
        await PortalFixture.AssertAccessible(page);
        await page.GotoAsync("/portal/webhooks");
        await Assertions.Expect(row).ToHaveCountAsync(1);
        await Assertions.Expect(page.GetByLabel("New signing secret")).ToHaveCountAsync(0); // shown once
        await page.GetByRole(AriaRole.Button, new() { Name = "Disable " + receiver.Url }).ClickAsync();
        await Assertions.Expect(row).ToContainTextAsync("disabled");
        await page.GetByRole(AriaRole.Button, new() { Name = "Enable " + receiver.Url }).ClickAsync();
        await Assertions.Expect(row).ToContainTextAsync("enabled");

        using var http = portal.Gateway.Http(adminKey);
        var responseId = (await http.PostJson("/v1/responses", JsonSerializer.Serialize(new { model = "sim-small", input = "Ping me when done", background = true })))
            .GetProperty("id").GetString()!;
        var delivery = await receiver.Next();
        await page.GetByRole(AriaRole.Link, new() { Name = "Delivery log of " + receiver.Url }).ClickAsync();
        var logged = page.Locator($"tr[data-event='{delivery.WebhookId}']");
        await Eventually.Get(async () =>
        {
            await page.ReloadAsync(); // the log is written once the receiver's answer is in
            return await logged.CountAsync() == 1 && (await logged.InnerTextAsync()).Contains("delivered", StringComparison.Ordinal) ? "logged" : null;
        });
        await Assertions.Expect(logged).ToContainTextAsync(responseId);
        await Assertions.Expect(logged).ToContainTextAsync("200");
        await page.GetByRole(AriaRole.Button, new() { Name = "Redeliver " + delivery.WebhookId }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync(delivery.WebhookId);
        var again = await receiver.Next();
        await PortalFixture.Screenshot(page, "webhook");
        await PortalFixture.AssertAccessible(page);

        await page.GetByRole(AriaRole.Link, new() { Name = "Webhooks", Exact = true }).First.ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete " + receiver.Url }).ClickAsync();
        await Assertions.Expect(page.GetByText("No webhook endpoints yet.")).ToBeVisibleAsync();
        var listed = await http.GetJson($"/v1/admin/tenants/{tenant}/webhooks");
        var audit = await http.GetJson("/v1/admin/audit?action=webhooks");

        Assert.Null(delivery.VerificationError); // signed with the secret the page showed
        Assert.Equal("response.completed", delivery.Type);
        Assert.Equal(responseId, delivery.ResponseId);
        Assert.Equal(delivery.Body, again.Body);
        Assert.Null(again.VerificationError);
        Assert.Empty(listed.GetProperty("data").EnumerateArray());
        var actions = audit.GetProperty("data").EnumerateArray().Select(r => r.GetProperty("action").GetString()).ToList();
        Assert.Contains("POST /v1/admin/tenants/{tenantId}/webhooks/", actions);
        Assert.Contains("DELETE /v1/admin/tenants/{tenantId}/webhooks/{webhookId}", actions);
        Assert.Contains("POST /v1/admin/tenants/{tenantId}/webhooks/{webhookId}/disable", actions);
        Assert.DoesNotContain(receiver.Secret, audit.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_url_is_answered_with_its_reason_and_registers_nothing()
    {
        var (tenant, adminKey, _) = await portal.NewTenant();
        var page = await portal.SignedIn(adminKey);
        await page.GotoAsync("/portal/webhooks");

        await page.GetByLabel("URL").FillAsync("http://10.1.2.3/hook");
        var response = await page.RunAndWaitForResponseAsync(
            () => page.GetByRole(AriaRole.Button, new() { Name = "Register endpoint" }).ClickAsync(), r => r.Request.Method == "POST");

        Assert.Equal((int)HttpStatusCode.BadRequest, response.Status);
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("not a public address");
        await Assertions.Expect(page.GetByLabel("New signing secret")).ToHaveCountAsync(0);
        using var http = portal.Gateway.Http(adminKey);
        Assert.Empty((await http.GetJson($"/v1/admin/tenants/{tenant}/webhooks")).GetProperty("data").EnumerateArray());
    }

    [Fact]
    public async Task A_member_cannot_open_the_webhooks_pages()
    {
        var (tenant, adminKey, memberKey) = await portal.NewTenant();
        using var http = portal.Gateway.Http(adminKey);
        var endpoint = (await http.PostJson($"/v1/admin/tenants/{tenant}/webhooks", """{"url":"https://hooks.example.com/x","events":["response.completed"]}"""))
            .GetProperty("id").GetString()!;
        var page = await portal.SignedIn(memberKey);
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Webhooks" })).ToHaveCountAsync(0);

        var list = await page.GotoAsync("/portal/webhooks");
        var log = await page.GotoAsync($"/portal/webhooks/{endpoint}");

        Assert.Equal((int)HttpStatusCode.Forbidden, list!.Status);
        Assert.Equal((int)HttpStatusCode.Forbidden, log!.Status);
        Assert.DoesNotContain("hooks.example.com", await page.ContentAsync(), StringComparison.Ordinal);
    }
}
