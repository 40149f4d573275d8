using Conversations.Tests.Infrastructure;
using Conversations.Tests.Tenancy;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;

namespace Conversations.Tests.Portal;

/// <summary>
/// One running service and one headless Chromium (Debian's, driven by Playwright) shared by the portal's tests. Each test
/// opens its own browser context: its own cookies, as a new visitor.
/// </summary>
public sealed class PortalFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private static readonly string[] LaunchArgs =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public GatewayFactory Gateway { get; private set; } = null!;

    /// <summary>The platform admin of the default tenant, through the API: sets up tenants and keys, and checks what the portal did.</summary>
    public TenantClient Admin { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException(
                $"The portal's browser tests need Debian's Chromium at {ChromiumPath}, which is missing. `npm ci` installs it " +
                "(tests/install-chromium.sh, run as root or with sudo); or run `apt-get install -y chromium`.");
        }

        // Webhooks may reach the tests' loopback receiver over http: allowed here explicitly, as nowhere by default.
        Gateway = new GatewayFactory(new Dictionary<string, string?>
        {
            ["Conversations:Webhooks:AllowedNetworks:0"] = "127.0.0.0/8",
            ["Conversations:Webhooks:AllowInsecureHttp"] = "true",
        });
        Admin = new TenantClient(Gateway.Http());
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = LaunchArgs,
        });
    }

    /// <summary>A new visitor: a browser context with no cookies, its relative URLs on the service.</summary>
    public async Task<IPage> NewVisitor()
    {
        var context = await _browser!.NewContextAsync(new BrowserNewContextOptions { BaseURL = Gateway.BaseAddress.ToString() });

        // The whole suite shares two cores with the browser: actions and navigations get more than Playwright's default 30 s.
        context.SetDefaultNavigationTimeout(90_000);
        context.SetDefaultTimeout(90_000);
        return await context.NewPageAsync();
    }

    /// <summary>A visitor signed in with <paramref name="key"/>, on the overview.</summary>
    public async Task<IPage> SignedIn(string key)
    {
        var page = await NewVisitor();
        await page.GotoAsync("/portal/sign-in");
        await page.GetByLabel("API key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        try
        {
            await Reached(page, "/portal");
        }
        catch (PlaywrightException)
        {
            throw new TimeoutException($"Signing in did not reach the overview: the page is at {page.Url} and says: {await page.InnerTextAsync("body")}");
        }

        return page;
    }

    /// <summary>
    /// Waits until the page is at <paramref name="path"/> (a regular expression for the path, anchored at its end) and loaded.
    /// Polls the page's address rather than waiting for a navigation event (<c>WaitForURLAsync</c>): in CI a navigation that had
    /// already ended when the wait began was missed three times (the page on the expected address, the wait timing out).
    /// </summary>
    public static async Task Reached(IPage page, string path)
    {
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex(path + "$"), new() { Timeout = 90_000 });
        await page.WaitForLoadStateAsync(LoadState.Load);
    }

    /// <summary>A new tenant with a tenant admin and a member; returns the tenant id and both secrets.</summary>
    public async Task<(string Tenant, string AdminKey, string MemberKey)> NewTenant()
    {
        var tenant = await Admin.CreateTenant();
        var (_, admin) = await Admin.CreateKey(tenant, "tenant_admin");
        var (_, member) = await Admin.CreateKey(tenant, "member");
        return (tenant, admin, member);
    }

    /// <summary>Runs axe-core (WCAG rules: labels, contrast, landmarks, names) over the page as it is now; every violation fails.</summary>
    public static async Task AssertAccessible(IPage page)
    {
        var result = await page.RunAxe();
        Assert.True(result.Violations.Length == 0,
            string.Join("\n", result.Violations.Select(v => $"{v.Id}: {v.Help} ({string.Join(", ", v.Nodes.Select(n => n.Html))})")));
    }

    /// <summary>
    /// Saves a screenshot of <paramref name="page"/> as <c>{name}.png</c> in the folder <c>CONVERSATIONS_PORTAL_SCREENSHOTS</c>
    /// names (the ones in docs/portal/ are taken this way); nothing when it is unset.
    /// </summary>
    public static async Task Screenshot(IPage page, string name)
    {
        if (Environment.GetEnvironmentVariable("CONVERSATIONS_PORTAL_SCREENSHOTS") is { Length: > 0 } folder)
        {
            await page.SetViewportSizeAsync(1280, 800);
            await page.ScreenshotAsync(new() { Path = Path.Combine(folder, name + ".png"), FullPage = true });
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (Gateway is not null)
        {
            await Gateway.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PortalCollection : ICollectionFixture<PortalFixture>
{
    public const string Name = "portal";
}
