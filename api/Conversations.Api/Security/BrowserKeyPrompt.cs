namespace Conversations.Api.Security;

/// <summary>
/// Endpoint metadata: the endpoint is opened in a browser, which cannot send a bearer token. It also takes the key as the
/// password of HTTP Basic authentication, and its 401 carries <c>WWW-Authenticate: Basic</c> so the browser asks for it
/// (and then sends it with every request the page makes). The public API never takes Basic authentication.
/// </summary>
public sealed class BrowserKeyPrompt
{
    public static readonly BrowserKeyPrompt Instance = new();

    public const string Challenge = "Basic realm=\"Conversations (platform admin key as the password)\", charset=\"UTF-8\"";

    private BrowserKeyPrompt()
    {
    }

    /// <summary>The password of a <c>Basic</c> authorization header (the user name is ignored), or null when it is not one.</summary>
    public static string? KeyFrom(string header)
    {
        const string basic = "Basic ";
        if (!header.StartsWith(basic, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        try
        {
            var decoded = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(header[basic.Length..].Trim()));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            return colon < 0 ? string.Empty : decoded[(colon + 1)..];
        }
        catch (FormatException)
        {
            return string.Empty;
        }
    }
}
