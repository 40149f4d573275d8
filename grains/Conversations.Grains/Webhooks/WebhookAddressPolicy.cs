using System.Net;
using System.Net.Sockets;

namespace Conversations.Grains.Webhooks;

/// <summary>
/// Which URLs and addresses a webhook may reach: <c>https</c> (or <c>http</c> when allowed), a host on the platform's
/// allowlist when it has one, and only public addresses unless a network is allowed, so a tenant cannot aim deliveries at
/// the cluster's own services. Names are checked when registered; the addresses they resolve to, on every connection.
/// </summary>
public sealed class WebhookAddressPolicy
{
    /// <summary>Addresses no webhook reaches unless allowed: this host, private networks, link-local, shared, multicast, reserved.</summary>
    private static readonly IPNetwork[] NotPublic =
    [
        IPNetwork.Parse("0.0.0.0/8"), IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("100.64.0.0/10"), IPNetwork.Parse("127.0.0.0/8"),
        IPNetwork.Parse("169.254.0.0/16"), IPNetwork.Parse("172.16.0.0/12"), IPNetwork.Parse("192.0.0.0/24"), IPNetwork.Parse("192.168.0.0/16"),
        IPNetwork.Parse("198.18.0.0/15"), IPNetwork.Parse("224.0.0.0/3"),
        IPNetwork.Parse("::/128"), IPNetwork.Parse("::1/128"), IPNetwork.Parse("fc00::/7"), IPNetwork.Parse("fe80::/10"), IPNetwork.Parse("ff00::/8"),
    ];

    private readonly WebhookOptions _options;
    private readonly IPNetwork[] _allowed;

    public WebhookAddressPolicy(WebhookOptions options)
    {
        _options = options;
        _allowed = [.. options.AllowedNetworks.Select(IPNetwork.Parse)];
    }

    /// <summary>The refusal of <paramref name="url"/> as a 400 naming <c>url</c>, or null when it may be registered.</summary>
    public GatewayError? Check(string? url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            return Refused("expected an absolute https URL");
        }

        if (uri.Scheme == Uri.UriSchemeHttp && !_options.AllowInsecureHttp)
        {
            return Refused("webhooks are sent over https only");
        }

        if (uri.UserInfo.Length > 0 || uri.Fragment.Length > 0)
        {
            return Refused("a webhook URL carries no user information or fragment");
        }

        if (!AllowsHost(uri.IdnHost))
        {
            return Refused($"the host '{uri.IdnHost}' is not on this platform's allowlist");
        }

        if (IPAddress.TryParse(uri.IdnHost.Trim('[', ']'), out var address) ? !Allows(address) : uri.IsLoopback)
        {
            return Refused($"'{uri.IdnHost}' is not a public address");
        }

        return null;
    }

    public bool AllowsHost(string host) =>
        _options.AllowedHosts.Count == 0
        || _options.AllowedHosts.Any(allowed => allowed.StartsWith("*.", StringComparison.Ordinal)
            ? host.EndsWith(allowed[1..], StringComparison.OrdinalIgnoreCase)
            : string.Equals(host, allowed, StringComparison.OrdinalIgnoreCase));

    /// <summary>Whether a delivery may connect to <paramref name="address"/>.</summary>
    public bool Allows(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        return _allowed.Any(network => network.Contains(address))
            || (address.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6 && !NotPublic.Any(network => network.Contains(address)));
    }

    private static GatewayError Refused(string why) => GatewayError.Invalid($"Invalid 'url': {why}.", "url", "invalid_url");
}
