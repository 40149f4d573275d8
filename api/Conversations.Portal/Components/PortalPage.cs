using Conversations.Api.Security;
using Conversations.Tenancy;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Http;

namespace Conversations.Portal.Components;

/// <summary>
/// A page of the portal, rendered on the server for the signed-in key: it acts through the same grains and the same
/// checks as the API's endpoints, as <see cref="Caller"/>.
/// </summary>
public abstract class PortalPage : ComponentBase
{
    [CascadingParameter]
    public HttpContext? HttpContext { get; set; }

    [Inject]
    public required IGrainFactory Grains { get; set; }

    [Inject]
    public required TimeProvider Clock { get; set; }

    [Inject]
    public required NavigationManager Navigation { get; set; }

    protected HttpContext Http => HttpContext ?? throw new InvalidOperationException("Portal pages render on the server only.");

    protected Caller Caller => Http.User.Caller();

    protected ITenantGrain Tenant => Grains.GetGrain<ITenantGrain>(Caller.Tenant);

    /// <summary>Answers a refusal with its status, as the API would (403 for a role or scope, 404 for what the key may not see).</summary>
    protected void Refuse(GatewayError error)
    {
        Refusal = error.Message;
        if (error.Status == StatusCodes.Status404NotFound)
        {
            Navigation.NotFound(); // static rendering sends a bare 404 without a body; the router's not-found page has one
            return;
        }

        Http.Response.StatusCode = error.Status;
    }

    /// <summary>
    /// For pages that mirror admin endpoints: the admin check the API applies (<paramref name="refused"/>, from the same
    /// helper), then its endpoint-group filter (<c>RequireScope(EndpointGroups.Admin)</c>); a refusal is answered as the API would.
    /// </summary>
    protected bool AdminAllowed(GatewayError? refused)
    {
        refused ??= Caller.MayUseEndpoints(EndpointGroups.Admin) ? null : GatewayError.Forbidden($"This API key may not use the '{EndpointGroups.Admin}' endpoints.");
        if (refused is not null)
        {
            Refuse(refused);
        }

        return refused is null;
    }

    /// <summary>Why the page refused its request, shown instead of its content.</summary>
    protected string? Refusal { get; private set; }
}
