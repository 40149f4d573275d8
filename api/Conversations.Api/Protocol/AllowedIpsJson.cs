using Conversations.Tenancy;

namespace Conversations.Api;

/// <summary><c>allowed_ips</c> on a tenant or a key: CIDR ranges or single addresses, IPv4 or IPv6; <c>[]</c> removes the list.</summary>
public static class AllowedIpsJson
{
    /// <summary>The list sent (null when absent), or a 400 naming the entry at fault.</summary>
    public static Result<List<string>?> Read(List<string>? ranges, string param)
    {
        if (ranges is null)
        {
            return (List<string>?)null;
        }

        if (ranges.Count > IpAllowlist.MaxRanges)
        {
            return GatewayError.Invalid($"Invalid '{param}': at most {IpAllowlist.MaxRanges} ranges.", param, "array_above_max_length");
        }

        for (var i = 0; i < ranges.Count; i++)
        {
            if (ranges[i] is null || !IpAllowlist.TryParse(ranges[i], out _))
            {
                return GatewayError.Invalid(
                    $"Invalid '{param}[{i}]': expected an IP address or a CIDR range such as '10.0.0.0/8' or '2001:db8::/32'.", $"{param}[{i}]", "invalid_value");
            }
        }

        return ranges.Distinct(StringComparer.Ordinal).ToList();
    }
}
