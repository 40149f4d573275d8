using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Playwright;

namespace Conversations.Tests.Portal;

/// <summary>
/// The playground in a real browser: a streamed chat made as the signed-in key through the portal's gateway bridge, the
/// headers and cost of each turn shown, and the conversation it held then opened in the explorer.
/// </summary>
[Collection(PortalCollection.Name)]
public sealed class PortalPlaygroundTests(PortalFixture portal)
{
    [Fact]
    public async Task A_streamed_playground_conversation_shows_each_turn_s_headers_and_cost_and_opens_in_the_explorer()
    {
        var (_, _, memberKey) = await portal.NewTenant();
        var page = await portal.SignedIn(memberKey);
        await page.GetByRole(AriaRole.Link, new() { Name = "Playground" }).ClickAsync();
        await page.GetByLabel("Model").SelectOptionAsync("sim-small");

        await Send(page, "Hello from the playground");
        await Send(page, "Tell me more about streams");

        var turns = page.GetByRole(AriaRole.Table, new() { Name = "Turns" }).Locator("tbody tr");
        await Assertions.Expect(turns).ToHaveCountAsync(2);
        var first = turns.First.Locator("td");
        await Assertions.Expect(first.Nth(1)).ToHaveTextAsync("sim-small"); // x-conversations-deployment
        await Assertions.Expect(first.Nth(2)).ToHaveTextAsync("1"); // x-conversations-attempts
        await Assertions.Expect(first.Nth(3)).ToHaveTextAsync("bypass"); // x-conversations-cache
        await Assertions.Expect(first.Nth(4)).ToHaveTextAsync("none"); // a tenant without rate limits gets no x-ratelimit-* headers
        var cost = decimal.Parse(await first.Nth(6).TextContentAsync() ?? "", CultureInfo.InvariantCulture);
        Assert.True(cost > 0, $"cost {cost}");
        var transcript = page.GetByRole(AriaRole.List, new() { Name = "Transcript" });
        await Assertions.Expect(transcript.Locator("li")).ToHaveCountAsync(4);
        await Assertions.Expect(transcript.Locator("li").Nth(1)).ToContainTextAsync("playground"); // the simulated model echoes, streamed in deltas
        await PortalFixture.Screenshot(page, "playground");
        await PortalFixture.AssertAccessible(page);

        var conversation = page.Locator("#playground-conversation a");
        var id = await conversation.TextContentAsync();
        await conversation.ClickAsync();

        await PortalFixture.Reached(page, $"/portal/conversations/{id}");
        await Assertions.Expect(page.GetByRole(AriaRole.Article)).ToHaveCountAsync(4);
        await Assertions.Expect(page.GetByRole(AriaRole.Article).First).ToContainTextAsync("Hello from the playground");
        await Assertions.Expect(page.Locator("[data-section=window]")).ToContainTextAsync("4 messages");
    }

    [Fact]
    public async Task The_gateway_bridge_refuses_a_post_without_the_page_s_antiforgery_token_and_a_visitor_without_a_session()
    {
        var (_, _, memberKey) = await portal.NewTenant();
        var page = await portal.SignedIn(memberKey);
        var body = new APIRequestContextOptions { DataObject = new { model = "sim-small", input = "hi" }, MaxRedirects = 0 };

        var forged = await page.Context.APIRequest.PostAsync("/portal/gateway/v1/responses", body);
        var stranger = await (await portal.NewVisitor()).Context.APIRequest.PostAsync("/portal/gateway/v1/responses", body);

        Assert.Equal((int)HttpStatusCode.BadRequest, forged.Status);
        var error = JsonDocument.Parse(await forged.TextAsync()).RootElement.GetProperty("error");
        Assert.Equal("invalid_antiforgery_token", error.GetProperty("code").GetString());
        Assert.Equal((int)HttpStatusCode.Redirect, stranger.Status); // to the sign-in page: the API's handler never runs
        Assert.Contains("/portal/sign-in", stranger.Headers["location"], StringComparison.Ordinal);
    }

    private static async Task Send(IPage page, string message)
    {
        var before = await page.Locator("#playground-turns tbody tr").CountAsync();
        await page.GetByLabel("Message").FillAsync(message);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send" }).ClickAsync();
        await Assertions.Expect(page.Locator("#playground-turns tbody tr")).ToHaveCountAsync(before + 1);
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Done.");
    }
}
