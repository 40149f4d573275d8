using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Conversations.Tests.Api;
using Microsoft.Playwright;

namespace Conversations.Tests.Portal;

/// <summary>
/// The conversation explorer in a real browser: a conversation's items beside the context the model would see next
/// turn (or for a typed next input), section by section with token counts, an item left out with its reason, facts set from the page; and another
/// tenant's conversation looking absent, as it does through the API.
/// </summary>
[Collection(PortalCollection.Name)]
public sealed class PortalConversationTests(PortalFixture portal)
{
    [Fact]
    public async Task A_conversation_shows_its_items_beside_the_context_sections_and_what_was_left_out_and_why()
    {
        var (_, _, memberKey) = await portal.NewTenant();
        var conversation = await NewConversation(memberKey, """{"context_policy":{"window_turns":1}}""",
            ("user", "My name is Ada."), ("assistant", "Hello Ada."), ("user", "I like tea."), ("assistant", "Noted."));
        var page = await portal.SignedIn(memberKey);
        await page.GetByRole(AriaRole.Link, new() { Name = "Conversations", Exact = true }).ClickAsync();

        await page.GetByLabel("Conversation id").FillAsync(conversation.Id);
        await page.GetByRole(AriaRole.Button, new() { Name = "Open" }).ClickAsync();

        await Assertions.Expect(page.GetByRole(AriaRole.Article)).ToHaveCountAsync(4);
        await Assertions.Expect(page.GetByRole(AriaRole.Article).First).ToContainTextAsync("My name is Ada.");
        var window = page.Locator("[data-section=window]");
        await Assertions.Expect(window).ToContainTextAsync("2 messages");
        await Assertions.Expect(window).ToContainTextAsync(conversation.ItemIds[2]);
        var leftOut = page.Locator($"[data-left-out={conversation.ItemIds[0]}]");
        await Assertions.Expect(leftOut).ToContainTextAsync("turn_limit");
        await Assertions.Expect(page.Locator($"article[id={conversation.ItemIds[0]}]")).ToContainTextAsync("left out: turn_limit");

        await Assertions.Expect(page.Locator("[data-section=input]")).ToHaveCountAsync(0); // no input typed: the context before it
        await page.GetByLabel("Next input").FillAsync("What should I drink this afternoon?");
        await page.GetByRole(AriaRole.Button, new() { Name = "Preview" }).ClickAsync();

        await Assertions.Expect(page.Locator("[data-section=input]")).ToContainTextAsync("1 message");
        await Assertions.Expect(page.GetByLabel("Next input")).ToHaveValueAsync("What should I drink this afternoon?");
        Assert.Contains("input=What", page.Url, StringComparison.Ordinal);

        await page.GetByLabel("Fact key").FillAsync("favourite_drink");
        await page.GetByLabel("Value").FillAsync("tea");
        await page.GetByRole(AriaRole.Button, new() { Name = "Set fact" }).ClickAsync();

        await Assertions.Expect(page.GetByRole(AriaRole.Table, new() { Name = "Facts" })).ToContainTextAsync("favourite_drink");
        await Assertions.Expect(page.Locator("[data-section=state]")).ToBeVisibleAsync(); // the model now sees the fact
        using var http = portal.Gateway.Http(memberKey);
        await PortalFixture.Screenshot(page, "conversation");
        await PortalFixture.AssertAccessible(page);
        var state = await http.GetFromJsonAsync<JsonElement>($"/v1/conversations/{conversation.Id}/state");
        Assert.Equal("tea", state.GetProperty("facts").GetProperty("favourite_drink").GetString());
    }

    [Fact]
    public async Task Another_tenant_s_conversation_looks_absent()
    {
        var (_, _, memberKey) = await portal.NewTenant();
        var (_, otherAdmin, _) = await portal.NewTenant();
        var conversation = await NewConversation(memberKey, "{}", ("user", "secret plans"));
        var page = await portal.SignedIn(otherAdmin);

        var response = await page.GotoAsync($"/portal/conversations/{conversation.Id}");

        Assert.Equal((int)HttpStatusCode.NotFound, response!.Status);
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Nothing is found at this address");
        Assert.DoesNotContain("secret plans", await page.ContentAsync(), StringComparison.Ordinal);
    }

    private async Task<(string Id, List<string> ItemIds)> NewConversation(string key, string body, params (string Role, string Text)[] items)
    {
        using var http = portal.Gateway.Http(key);
        using var created = await http.PostAsync("/v1/conversations", ChatCompletionsTests.Json(body));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var itemsBody = JsonSerializer.Serialize(new { items = items.Select(i => new { type = "message", role = i.Role, content = i.Text }) });
        using var added = await http.PostAsync($"/v1/conversations/{id}/items", ChatCompletionsTests.Json(itemsBody));
        Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        var ids = (await added.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("data").EnumerateArray().Select(i => i.GetProperty("id").GetString()!).ToList();
        return (id, ids);
    }
}
