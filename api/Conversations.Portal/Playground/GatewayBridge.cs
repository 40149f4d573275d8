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
/// and server-sent events alike. No key reaches the page.
/// </summary>
public static class GatewayBridge
{
    public const string Prefix = PortalEndpoints.BasePath + "/gateway";

    /// <summary>The API endpoints the playground uses; nothing else is reachable through the bridge.</summary>
    private static readonly string[] Paths = ["/v1/responses", "/v1/conversations"];

    public static WebApplication MapGatewayBridge(this WebApplication app)
    {
        foreach (var path in Paths)
        {
            app.MapPost(Prefix + path, Forward(path))
                .RequireAuthorization(PortalAuthentication.MemberPolicy)
                .ExcludeFromDescription();
        }

        return app;
    }

    private static RequestDelegate Forward(string path)
    {
        Endpoint? target = null;
        return async context =>
        {
            var antiforgery = context.RequestServices.GetRequiredService<IAntiforgery>();
            if (!await antiforgery.IsRequestValidAsync(context))
            {
                await ApiErrors.WriteAsync(context, GatewayError.Invalid(
                    "Missing or invalid antiforgery token: send the page's token in the RequestVerificationToken header.", null, "invalid_antiforgery_token"));
                return;
            }

            target ??= Find(context.RequestServices.GetRequiredService<EndpointDataSource>(), path);
            context.SetEndpoint(target); // the API's filters and audit read the endpoint they run for
            await target.RequestDelegate!(context);
        };
    }

    private static RouteEndpoint Find(EndpointDataSource endpoints, string path) =>
        endpoints.Endpoints.OfType<RouteEndpoint>().Single(endpoint =>
            string.Equals(endpoint.RoutePattern.RawText?.TrimEnd('/'), path, StringComparison.Ordinal)
            && endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods.Contains(HttpMethods.Post) == true);
}
