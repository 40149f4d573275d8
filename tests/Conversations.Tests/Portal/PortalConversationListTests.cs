using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Conversations.Tests.Api;
using Microsoft.Playwright;

namespace Conversations.Tests.Portal;

/// <summary>
/// The conversation list in a real browser, read from the tenant's conversation index: newest first, paged on the server,
/// searched by title prefix and metadata; a deleted conversation leaves it and a changed title shows; another tenant's
/// conversations never appear.
/// </summary>
[Collection(PortalCollection.Name)]
public sealed class PortalConversationListTests(PortalFixture portal)
{
    private const int PageSize = 25;

    [Fact]
    public async Task The_list_pages_newest_first_finds_by_title_and_metadata_and_follows_deletes_and_renames()
    {
        var (_, _, memberKey) = await portal.NewTenant();
        var (_, _, strangerKey) = await portal.NewTenant();
        using var http = portal.Gateway.Http(memberKey);
        var ids = new List<string>();
        for (var i = 0; i < PageSize + 3; i++)
        {
            ids.Add(await Create(http, $"Report {i:00}", i % 2 == 0 ? "sales" : "ops"));
        }

        using (var stranger = portal.Gateway.Http(strangerKey))
        {
            await Create(stranger, "Report of another tenant", "sales");
        }

        using (var deleted = await http.DeleteAsync($"/v1/conversations/{ids[^1]}"))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        using (var renamed = await http.PostAsync($"/v1/conversations/{ids[0]}", ChatCompletionsTests.Json("""{"metadata":{"title":"Renamed first","team":"sales"}}""")))
        {
            Assert.Equal(HttpStatusCode.OK, renamed.StatusCode);
        }

        var page = await portal.SignedIn(memberKey);
        await page.GetByRole(AriaRole.Link, new() { Name = "Conversations", Exact = true }).ClickAsync();

        var rows = page.GetByRole(AriaRole.Table, new() { Name = "Conversations" }).Locator("tbody tr");
        await Assertions.Expect(rows).ToHaveCountAsync(PageSize);
        await Assertions.Expect(rows.First).ToHaveAttributeAsync("data-conversation", ids[^2]); // the newest that still exists
        await PortalFixture.Screenshot(page, "conversations");
        await PortalFixture.AssertAccessible(page);
        await page.GetByRole(AriaRole.Link, new() { Name = "Next page" }).ClickAsync();
        await Assertions.Expect(rows).ToHaveCountAsync(2);
        await Assertions.Expect(rows.Last).ToHaveAttributeAsync("data-conversation", ids[0]);
        await Assertions.Expect(rows.Last).ToContainTextAsync("Renamed first");
        Assert.DoesNotContain(ids[^1], await page.ContentAsync(), StringComparison.Ordinal);

        await page.GetByLabel("Search").FillAsync("report 1");
        await page.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
        await Assertions.Expect(rows).ToHaveCountAsync(10); // Report 10 to Report 19

        await page.GetByLabel("Search").FillAsync("team=ops");
        await page.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
        await Assertions.Expect(rows).ToHaveCountAsync(13); // the odd ones, less the deleted Report 27
        await rows.First.GetByRole(AriaRole.Link).ClickAsync();
        await PortalFixture.Reached(page, $"/portal/conversations/{ids[^3]}"); // Report 25, the newest of them
    }

    private static async Task<string> Create(HttpClient http, string title, string team)
    {
        using var created = await http.PostAsync("/v1/conversations", ChatCompletionsTests.Json(JsonSerializer.Serialize(new { metadata = new { title, team } })));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        return (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }
}
