using Conversations.Portal.Components;
using Conversations.Portal.Playground;
using Conversations.Portal.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Conversations.Portal;

/// <summary>Adds and maps the developer portal under <c>/portal</c>, beside the API, in a silo or in an API-only process.</summary>
public static class PortalEndpoints
{
    public const string BasePath = "/portal";

    public static IHostApplicationBuilder AddConversationsPortal(this IHostApplicationBuilder builder)
    {
        builder.Services.AddRazorComponents();
        builder.Services.AddPortalAuthentication();
        builder.Services.AddAntiforgery(options =>
        {
            options.Cookie.Name = "conversations_portal_csrf";
            options.Cookie.Path = BasePath;
            options.Cookie.SameSite = SameSiteMode.Strict;
        });
        return builder;
    }

    /// <summary>Maps the portal; call after <c>MapConversationsApi</c>, whose authentication and authorization it runs behind.</summary>
    public static WebApplication MapConversationsPortal(this WebApplication app)
    {
        app.UseWhen(context => context.Request.Path.StartsWithSegments(BasePath), portal =>
        {
            portal.Use(async (context, next) =>
            {
                var headers = context.Response.Headers;
                headers.CacheControl = "no-store"; // a secret is shown once: no copy in any cache
                headers.ContentSecurityPolicy = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";
                headers.XContentTypeOptions = "nosniff";
                headers["Referrer-Policy"] = "no-referrer";
                await next(context);
            });
            portal.UseAntiforgery(); // every form post of the portal carries a token bound to its session
        });

        MapAsset(app, "portal.css", "text/css; charset=utf-8");
        MapAsset(app, "portal.js", "text/javascript; charset=utf-8");
        MapAsset(app, "playground.js", "text/javascript; charset=utf-8");
        MapAsset(app, "knowledge.js", "text/javascript; charset=utf-8");
        app.MapGatewayBridge();
        app.MapRazorComponents<App>();
        return app;
    }

    /// <summary>The stylesheet and the script are embedded in this assembly: no static web assets to publish or find at run time.</summary>
    private static void MapAsset(WebApplication app, string name, string contentType) =>
        app.MapGet($"{BasePath}/{name}", () => Results.Stream(typeof(PortalEndpoints).Assembly.GetManifestResourceStream(name)!, contentType))
            .ExcludeFromDescription();
}
