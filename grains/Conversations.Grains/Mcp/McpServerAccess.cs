using System.Net;
using System.Net.Sockets;
using Conversations.Mcp;
using Conversations.Providers;

namespace Conversations.Grains.Mcp;

/// <summary>
/// Whether a tenant may have the gateway call a server: a credential it names must be shared with the tenant and the
/// server's URL must be under the credential's base URL (its key goes only where the operator said); a URL without a
/// credential must not name a host at a loopback, private or link-local address (checked again at each connection).
/// </summary>
public static class McpServerAccess
{
    /// <summary>How long registration waits for a name to resolve; past it the check is left to each connection.</summary>
    private static readonly TimeSpan ResolveTimeout = TimeSpan.FromSeconds(3);

    public static GatewayError? RefuseCredential(RoutingOptions routing, string tenant, McpServerRegistration server)
    {
        if (server.Credential is not { } name)
        {
            return null;
        }

        return routing.Credentials.GetValueOrDefault(name) is not { ApiKey: not null, BaseUrl: { } baseUrl } credential || !credential.SharedWith(tenant)
            ? GatewayError.Invalid($"Invalid 'credential': no credential '{name}' is available to this tenant.", "credential", "invalid_value")
            : !IsUnder(server.Url, baseUrl)
            ? GatewayError.Invalid($"Invalid 'credential': '{name}' may be sent only to URLs under {baseUrl}.", "credential", "invalid_value")
            : null;
    }

    /// <summary>A 400 naming <c>url</c> when a server without a credential names a host that resolves only to addresses inside the network.</summary>
    public static async Task<GatewayError?> RefuseAddress(McpServerRegistration server, bool allowPrivate)
    {
        if (server.Credential is not null || allowPrivate)
        {
            return null;
        }

        IPAddress[] addresses;
        using var timeout = new CancellationTokenSource(ResolveTimeout);
        try
        {
            addresses = IPAddress.TryParse(server.Url.DnsSafeHost, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(server.Url.DnsSafeHost, timeout.Token);
        }
        catch (Exception exception) when (exception is SocketException or OperationCanceledException)
        {
            return null; // unresolvable now: each connection checks the addresses it finds then
        }

        return addresses.Length > 0 && !addresses.Any(UpstreamAddresses.IsPublic)
            ? GatewayError.Invalid($"Invalid 'url': '{server.Url.Host}' is not at a public address; the gateway does not connect inside its network.", "url", "invalid_value")
            : null;
    }

    /// <summary>Same scheme, host and port, and a path under the base's.</summary>
    public static bool IsUnder(Uri url, Uri baseUrl) =>
        Uri.Compare(url, baseUrl, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0
        && url.AbsolutePath.StartsWith(baseUrl.AbsolutePath.TrimEnd('/'), StringComparison.Ordinal)
        && (url.AbsolutePath.Length == baseUrl.AbsolutePath.TrimEnd('/').Length || url.AbsolutePath[baseUrl.AbsolutePath.TrimEnd('/').Length] == '/');
}
