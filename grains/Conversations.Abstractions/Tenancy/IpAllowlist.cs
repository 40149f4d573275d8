using System.Net;

namespace Conversations.Tenancy;

/// <summary>
/// The addresses a tenant or a key may call from: CIDR ranges, IPv4 or IPv6 (<c>10.0.0.0/8</c>, <c>2001:db8::/32</c>),
/// or single addresses. No list (null) allows every address; ranges are parsed by <see cref="IPNetwork"/>.
/// </summary>
public static class IpAllowlist
{
    public const int MaxRanges = 100;

    /// <summary>A range as written, or a single address as its /32 or /128.</summary>
    public static bool TryParse(string range, out IPNetwork network)
    {
        if (IPNetwork.TryParse(range, out network))
        {
            return true;
        }

        if (IPAddress.TryParse(range, out var address) && !range.Contains('/', StringComparison.Ordinal))
        {
            network = new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }

        return false;
    }

    /// <summary>Whether <paramref name="address"/> is in one of <paramref name="ranges"/> (an IPv4 address mapped to IPv6 counts as IPv4).</summary>
    public static bool Allows(IReadOnlyList<string>? ranges, IPAddress? address)
    {
        if (ranges is null)
        {
            return true;
        }

        if (address is null)
        {
            return false;
        }

        address = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        foreach (var range in ranges)
        {
            if (TryParse(range, out var network) && network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Null when every range of <paramref name="inner"/> lies within one of <paramref name="outer"/> (null: every address);
    /// otherwise the index of the first that does not, or -1 when <paramref name="inner"/> is every address and
    /// <paramref name="outer"/> is not.
    /// </summary>
    public static int? Outside(IReadOnlyList<string>? inner, IReadOnlyList<string>? outer)
    {
        if (outer is null)
        {
            return null;
        }

        if (inner is null)
        {
            return -1;
        }

        var bounds = outer.Select(range => TryParse(range, out var network) ? network : (IPNetwork?)null).OfType<IPNetwork>().ToList();
        for (var i = 0; i < inner.Count; i++)
        {
            if (!TryParse(inner[i], out var network) || !bounds.Any(bound => bound.BaseAddress.AddressFamily == network.BaseAddress.AddressFamily
                && bound.PrefixLength <= network.PrefixLength && bound.Contains(network.BaseAddress)))
            {
                return i;
            }
        }

        return null;
    }
}
