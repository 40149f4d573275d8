using System.Net;
using Microsoft.Playwright;

namespace Conversations.Tests.Portal;

/// <summary>
/// The portal's session in a real browser: an API key exchanged for a short-lived, HttpOnly, SameSite=Strict cookie (the
/// key in no URL and no storage), refused keys, sign-out, a revoked key's session ending, pages a member may not open
/// refused on the server, and every form post refused without its antiforgery token.
/// </summary>
[Collection(PortalCollection.Name)]
public sealed class PortalSessionTests(PortalFixture portal)
{
    [Fact]
    public async Task Signing_in_exchanges_the_key_for_a_short_lived_HttpOnly_SameSite_cookie_and_keeps_the_key_nowhere_in_the_page()
    {
        var (tenant, adminKey, _) = await portal.NewTenant();

        var page = await portal.SignedIn(adminKey);

        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = $"Overview of {tenant}" })).ToBeVisibleAsync();
        var session = Assert.Single(await page.Context.CookiesAsync(), c => c.Name == "conversations_portal");
        Assert.True(session.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, session.SameSite);
        Assert.Equal("/portal", session.Path);
        var expires = DateTimeOffset.FromUnixTimeSeconds((long)session.Expires);
        Assert.InRange(expires, DateTimeOffset.UtcNow.AddMinutes(25), DateTimeOffset.UtcNow.AddMinutes(31));
        Assert.DoesNotContain(adminKey, session.Value, StringComparison.Ordinal);
        Assert.DoesNotContain(adminKey, page.Url, StringComparison.Ordinal);
        Assert.Equal("0,0", await page.EvaluateAsync<string>("() => `${localStorage.length},${sessionStorage.length}`"));
        Assert.DoesNotContain(adminKey, await page.ContentAsync(), StringComparison.Ordinal);
        Assert.Equal("", await page.EvaluateAsync<string>("() => document.cookie")); // HttpOnly: no script reads the session
    }

    [Fact]
    public async Task A_wrong_key_is_refused_and_signs_nothing_in()
    {
        var page = await portal.NewVisitor();
        await page.GotoAsync("/portal/sign-in");
        await PortalFixture.Screenshot(page, "sign-in");
        await page.GetByLabel("API key").FillAsync("sk-not-a-key");

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();

        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Incorrect API key");
        Assert.DoesNotContain(await page.Context.CookiesAsync(), c => c.Name == "conversations_portal");
        var overview = await page.GotoAsync("/portal");
        Assert.EndsWith("/portal/sign-in?ReturnUrl=%2Fportal", page.Url, StringComparison.Ordinal);
        Assert.Equal((int)HttpStatusCode.OK, overview!.Status);
    }

    [Fact]
    public async Task Signing_out_ends_the_session()
    {
        var (_, adminKey, _) = await portal.NewTenant();
        var page = await portal.SignedIn(adminKey);

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await PortalFixture.Reached(page, "/portal/sign-in");

        Assert.DoesNotContain(await page.Context.CookiesAsync(), c => c.Name == "conversations_portal");
        await page.GotoAsync("/portal/keys");
        Assert.Contains("/portal/sign-in", page.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_revoked_key_s_session_ends_on_its_next_page()
    {
        var tenant = await portal.Admin.CreateTenant();
        var (keyId, secret) = await portal.Admin.CreateKey(tenant, "tenant_admin");
        var page = await portal.SignedIn(secret);

        await portal.Admin.Post($"/v1/admin/tenants/{tenant}/keys/{keyId}/revoke");
        await page.GotoAsync("/portal/keys");

        Assert.Contains("/portal/sign-in", page.Url, StringComparison.Ordinal);
        Assert.DoesNotContain(await page.Context.CookiesAsync(), c => c.Name == "conversations_portal");
    }

    [Fact]
    public async Task A_member_cannot_open_the_keys_page_even_by_its_address()
    {
        var (_, _, memberKey) = await portal.NewTenant();
        var page = await portal.SignedIn(memberKey);
        await Assertions.Expect(page.GetByRole(AriaRole.Navigation)).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Keys" })).ToHaveCountAsync(0);

        var keys = await page.GotoAsync("/portal/keys");

        Assert.Equal((int)HttpStatusCode.Forbidden, keys!.Status);
        Assert.Contains("/portal/denied", page.Url, StringComparison.Ordinal);
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "API keys" })).ToHaveCountAsync(0);
        var post = await page.Context.APIRequest.PostAsync("/portal/keys", new() { Form = CreateKeyForm(page, "by-a-member"), MaxRedirects = 0 });
        Assert.Equal((int)HttpStatusCode.Redirect, post.Status); // to the denied page: the handler never runs
        Assert.Contains("/portal/denied", post.Headers["location"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_form_post_without_its_antiforgery_token_is_refused_and_changes_nothing()
    {
        var (tenant, adminKey, _) = await portal.NewTenant();
        var page = await portal.SignedIn(adminKey);

        var post = await page.Context.APIRequest.PostAsync("/portal/keys", new() { Form = CreateKeyForm(page, "forged") });

        Assert.Equal((int)HttpStatusCode.BadRequest, post.Status);
        var keys = await portal.Admin.Get($"/v1/admin/tenants/{tenant}/keys");
        Assert.DoesNotContain(keys.GetProperty("data").EnumerateArray(), k => k.GetProperty("name").GetString() == "forged");
    }

    private static IFormData CreateKeyForm(IPage page, string name)
    {
        var form = page.Context.APIRequest.CreateFormData();
        form.Set("_handler", "create-key");
        form.Set("Form.Name", name);
        form.Set("Form.Role", "member");
        return form;
    }
}
