using Conversations.Tenancy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Conversations.Api.Security;

/// <summary>
/// The proxies whose <c>X-Forwarded-For</c> is believed (<c>Conversations:Network:TrustedProxies</c>, CIDR ranges or
/// addresses). ASP.NET Core's forwarded-headers middleware takes the client's address from the header, walking back
/// through trusted hops only; with no trusted proxy the header is ignored and the connection's address is the caller's,
/// which is what the key and tenant allowlists (<see cref="IpAllowlist"/>) check.
/// </summary>
public static class TrustedProxies
{
    public const string Section = "Conversations:Network:TrustedProxies";

    public static IServiceCollection AddTrustedProxies(this IServiceCollection services, IConfiguration configuration)
    {
        var ranges = Ranges(configuration);
        return services.Configure<ForwardedHeadersOptions>(options =>
        {
            options.ForwardedHeaders = ForwardedHeaders.XForwardedFor;
            options.ForwardLimit = null; // every trusted hop, back to the first address that is not one
            options.KnownProxies.Clear();
            options.KnownIPNetworks.Clear();
            foreach (var range in ranges)
            {
                options.KnownIPNetworks.Add(range);
            }
        });
    }

    public static WebApplication UseTrustedProxies(this WebApplication app)
    {
        if (Ranges(app.Configuration).Count > 0)
        {
            app.UseForwardedHeaders();
        }

        return app;
    }

    private static List<System.Net.IPNetwork> Ranges(IConfiguration configuration) =>
    [
        .. (configuration.GetSection(Section).Get<string[]>() ?? []).Select(range => IpAllowlist.TryParse(range, out var network)
            ? network
            : throw new InvalidOperationException($"{Section} has '{range}', which is neither an IP address nor a CIDR range.")),
    ];
}
