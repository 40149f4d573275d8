using System.Net;
using System.Net.Sockets;

namespace Conversations.Grains.Mcp;

/// <summary>
/// Which addresses a tenant-given URL may reach (server-side request forgery): only public unicast ones. Loopback,
/// private (RFC 1918, IPv6 unique local), carrier-grade NAT, link-local (cloud metadata at 169.254.169.254), unspecified,
/// multicast, broadcast and reserved ranges are refused, also written as IPv4-mapped IPv6 addresses.
/// </summary>
public static class UpstreamAddresses
{
    private static readonly (IPAddress Network, int Bits)[] Blocked =
    [
        (IPAddress.Parse("0.0.0.0"), 8),
        (IPAddress.Parse("10.0.0.0"), 8),
        (IPAddress.Parse("100.64.0.0"), 10),
        (IPAddress.Parse("127.0.0.0"), 8),
        (IPAddress.Parse("169.254.0.0"), 16),
        (IPAddress.Parse("172.16.0.0"), 12),
        (IPAddress.Parse("192.0.0.0"), 24),
        (IPAddress.Parse("192.168.0.0"), 16),
        (IPAddress.Parse("198.18.0.0"), 15),
        (IPAddress.Parse("224.0.0.0"), 4),
        (IPAddress.Parse("240.0.0.0"), 4),
        (IPAddress.Parse("::"), 128),
        (IPAddress.Parse("::1"), 128),
        (IPAddress.Parse("64:ff9b::"), 96),
        (IPAddress.Parse("fc00::"), 7),
        (IPAddress.Parse("fe80::"), 10),
        (IPAddress.Parse("ff00::"), 8),
    ];

    public static bool IsPublic(IPAddress address)
    {
        var plain = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        return Blocked.All(range => !InRange(plain, range.Network, range.Bits));
    }

    private static bool InRange(IPAddress address, IPAddress network, int bits)
    {
        if (address.AddressFamily != network.AddressFamily)
        {
            return false;
        }

        var (a, n) = (address.GetAddressBytes(), network.GetAddressBytes());
        for (var i = 0; i < a.Length && bits > 0; i++, bits -= 8)
        {
            var mask = bits >= 8 ? 0xFF : (0xFF << (8 - bits)) & 0xFF;
            if ((a[i] & mask) != (n[i] & mask))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Connects to <paramref name="endpoint"/> only at a public address: the name is resolved here and the socket opened
    /// to an address that was checked, so a name that resolves differently later (DNS rebinding) cannot reach inside.
    /// </summary>
    public static async ValueTask<Stream> ConnectPublic(DnsEndPoint endpoint, CancellationToken cancellationToken)
    {
        var addresses = IPAddress.TryParse(endpoint.Host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(endpoint.Host, cancellationToken);
        var allowed = addresses.Where(IsPublic).ToArray();
        if (allowed.Length == 0)
        {
            throw new HttpRequestException($"The MCP server's host '{endpoint.Host}' is not at a public address; the gateway does not connect to it.");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, endpoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
