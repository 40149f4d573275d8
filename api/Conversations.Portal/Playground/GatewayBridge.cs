using Conversations.Api.Errors;
using Conversations.Portal.Security;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Conversations.Portal.Playground;

/// <summary>
/// Same-origin doors from the portal to a few of the gateway's own API endpoints (decision 0068): a signed-in page's
/// script posts to <c>/portal/gateway/v1/…</c> with its session cookie and an antiforgery header, and the API's own
/// handler runs for the session's key (its filters, scopes and model checks included) and answers as it would, headers
/// and server-sent events alike. No key reaches the page. Reads (<c>GET</c>, the audit log's exports) need no antiforgery
/// token: they change nothing, and the session cookie is SameSite=Strict.
/// </summary>
public static class GatewayBridge
{
    public const string Prefix = PortalEndpoints.BasePath + "/gateway";

    /// <summary>The API endpoints the playground uses, and the audit log's export; nothing else is reachable through the bridge.</summary>
    private static readonly (string Method, string Path)[] Doors =
        [(HttpMethods.Post, "/v1/responses"), (HttpMethods.Post, "/v1/conversations"), (HttpMethods.Get, "/v1/admin/audit")];

    public static WebApplication MapGatewayBridge(this WebApplication app)
    {
        foreach (var (method, path) in Doors)
        {
            app.MapMethods(Prefix + path, [method], Forward(method, path))
                .RequireAuthorization(PortalAuthentication.MemberPolicy)
                .ExcludeFromDescription();
        }

        return app;
    }

    private static RequestDelegate Forward(string method, string path)
    {
        Endpoint? target = null;
        return async context =>
        {
            var antiforgery = context.RequestServices.GetRequiredService<IAntiforgery>();
            if (method != HttpMethods.Get && !await antiforgery.IsRequestValidAsync(context))
            {
                await ApiErrors.WriteAsync(context, GatewayError.Invalid(
                    "Missing or invalid antiforgery token: send the page's token in the RequestVerificationToken header.", null, "invalid_antiforgery_token"));
                return;
            }

            target ??= Find(context.RequestServices.GetRequiredService<EndpointDataSource>(), method, path);
            context.SetEndpoint(target); // the API's filters and audit read the endpoint they run for
            await target.RequestDelegate!(context);
        };
    }

    private static RouteEndpoint Find(EndpointDataSource endpoints, string method, string path) =>
        endpoints.Endpoints.OfType<RouteEndpoint>().Single(endpoint =>
            string.Equals(endpoint.RoutePattern.RawText?.TrimEnd('/'), path, StringComparison.Ordinal)
            && endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods.Contains(method) == true);
}
