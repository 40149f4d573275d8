using Conversations.Api.Errors;
using Conversations.Tenancy;

namespace Conversations.Api.Endpoints;

/// <summary>Who may administer a tenant: platform admins any, tenant admins their own. Other tenants look absent (404).</summary>
public static class AdminAccess
{
    public static GatewayError? Check(Caller caller, string tenantId, Role required)
    {
        if (caller.Role == Role.PlatformAdmin)
        {
            return null;
        }

        if (caller.Tenant != tenantId)
        {
            return GatewayError.NotFound("tenant", tenantId);
        }

        return caller.Role >= required ? null : ApiErrors.Forbidden($"This API key's role may not perform this request; it needs {RoleNames.Name(required)}.");
    }
}
