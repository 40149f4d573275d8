using System.Globalization;
using System.Net;
using System.Text;
using Conversations.Tests.Context;
using Microsoft.Playwright;

namespace Conversations.Tests.Portal;

/// <summary>
/// The knowledge pages in a real browser: a member creates a knowledge base, uploads a Markdown file and watches its
/// chunking and embedding reach done, finds it by a search with a score, and deletes it (the API then lists no document);
/// a key without the knowledge endpoints is refused as the API refuses it.
/// </summary>
[Collection(PortalCollection.Name)]
public sealed class PortalKnowledgeTests(PortalFixture portal)
{
    /// <summary>A hang guard for the ingestion's end (embedding on a shared core), not a speed assertion.</summary>
    private static readonly LocatorAssertionsToHaveAttributeOptions Ingestion = new() { Timeout = 120_000 };

    private const string Manual = """
        # Pump manual

        ## Warranty
        The pump has a two year warranty from the date of purchase. Keep the receipt.

        ## Cleaning
        Rinse the filter with warm water every month and let it dry before refitting it.
        """;

    [Fact]
    public async Task A_member_uploads_a_document_watches_it_reach_done_finds_it_with_a_score_and_deletes_it()
    {
        var (_, _, memberKey) = await portal.NewTenant();
        var page = await portal.SignedIn(memberKey);
        await page.GetByRole(AriaRole.Link, new() { Name = "Knowledge" }).ClickAsync();
        await page.GetByLabel("Name").FillAsync("manuals");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create knowledge base" }).ClickAsync();
        await PortalFixture.Reached(page, "/portal/knowledge/kb_[^/]+");
        var kb = page.Url[(page.Url.LastIndexOf('/') + 1)..];

        await page.GetByLabel("Files").SetInputFilesAsync(new FilePayload { Name = "pump.md", MimeType = "text/markdown", Buffer = Encoding.UTF8.GetBytes(Manual) });
        await page.GetByRole(AriaRole.Button, new() { Name = "Upload" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Uploaded pump.md");

        // No reload: the page's own polling moves the bar until the document is done.
        var row = page.Locator("tr[data-document]", new() { HasText = "pump.md" });
        await Assertions.Expect(row).ToHaveAttributeAsync("data-status", "completed", Ingestion);
        var progress = row.GetByRole(AriaRole.Progressbar, new() { Name = "Progress of pump.md" });
        Assert.Equal(await progress.GetAttributeAsync("max"), await progress.GetAttributeAsync("value"));
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Every document is chunked and embedded");
        using var http = portal.Gateway.Http(memberKey);
        var documents = await new KnowledgeBaseClient(http).Documents(kb);
        Assert.Equal("completed", Assert.Single(documents).GetProperty("status").GetString());

        await page.GetByLabel("Query").FillAsync("How long is the pump's warranty?");
        await page.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
        var best = page.GetByRole(AriaRole.Table, new() { Name = "Search results" }).Locator("tbody tr").First;
        await Assertions.Expect(best).ToContainTextAsync("two year warranty");
        await Assertions.Expect(best).ToContainTextAsync("pump.md#0");
        var score = float.Parse(await best.Locator("td").First.InnerTextAsync(), CultureInfo.InvariantCulture);
        Assert.InRange(score, 0.01f, 1.5f);
        await PortalFixture.Screenshot(page, "knowledge");
        await PortalFixture.AssertAccessible(page);

        await page.GetByRole(AriaRole.Button, new() { Name = "Delete pump.md" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("Deleted pump.md");
        await Assertions.Expect(row).ToHaveCountAsync(0);
        Assert.Empty(await new KnowledgeBaseClient(http).Documents(kb));
    }

    [Fact]
    public async Task A_key_without_the_knowledge_endpoints_cannot_open_the_knowledge_pages()
    {
        var tenant = await portal.Admin.CreateTenant();
        var (_, chatOnly) = await portal.Admin.CreateKey(tenant, "member", new { allowed_endpoints = new[] { "chat" } });
        var page = await portal.SignedIn(chatOnly);

        var open = await page.GotoAsync("/portal/knowledge");

        Assert.Equal((int)HttpStatusCode.Forbidden, open!.Status);
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("'knowledge' endpoints");
        await Assertions.Expect(page.GetByLabel("Name")).ToHaveCountAsync(0);
    }
}
