using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;

namespace Conversations.Api.Hosting;

public static class ListenAddressExtensions
{
    /// <summary>Listens on <paramref name="url"/> unless <c>urls</c>, <c>ASPNETCORE_URLS</c> or Kestrel endpoints say otherwise.</summary>
    public static WebApplicationBuilder UseDefaultListenAddress(this WebApplicationBuilder builder, string url)
    {
        var configured = !string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey])
            || builder.Configuration.GetSection("Kestrel:Endpoints").GetChildren().Any()
            || !string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_HTTP_PORTS"]);
        if (!configured)
        {
            builder.WebHost.UseUrls(url);
        }

        return builder;
    }
}
