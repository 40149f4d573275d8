using Conversations.Api.Errors;
using Conversations.Api.Security;
using Conversations.Caching;
using Conversations.Tenancy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Conversations.Api.Endpoints;

/// <summary>The admin API for a tenant's response cache: purge by route alias, by key hash, or all of it.</summary>
public static class CacheAdminEndpoints
{
    public static RouteGroupBuilder MapCacheAdmin(this RouteGroupBuilder v1)
    {
        v1.MapPost("/admin/tenants/{tenantId}/cache/purge", Purge).WithTags("Admin").RequireScope(EndpointGroups.Admin).AddEndpointFilter(AuditTrail.Filter)
            .WithSummary("Purge the tenant's cached answers: those of one alias, the one with a key hash, or all.")
            .Accepts<CachePurgeJson>(isOptional: true, "application/json").Produces<CachePurgedJson>().Produces<OpenAIErrorBody>(400).Produces<OpenAIErrorBody>(403);
        return v1;
    }

    private static async Task<IResult> Purge(string tenantId, [AsParameters] ApiServices api)
    {
        if (AdminAccess.Check(api.Caller, tenantId, Role.TenantAdmin) is { } denied)
        {
            return denied.ToResult();
        }

        var body = await RequestBody.ReadOptionalAsync(api.Http.Request, new CachePurgeJson());
        if (!body.IsSuccess)
        {
            return body.Error.ToResult();
        }

        var (alias, key) = (body.Value.Alias, body.Value.Key);
        if (key is not null && (key.Length != 64 || !key.All(char.IsAsciiHexDigitLower)))
        {
            return GatewayError.Invalid("Invalid 'key': expected the 64 lowercase hex digits of x-conversations-cache-key.", "key", "invalid_value").ToResult();
        }

        var purged = await api.Grains.GetGrain<ICacheDirectoryGrain>(tenantId).Purge(alias, key);
        return TypedResults.Json(new CachePurgedJson(tenantId, alias, key, purged), ApiJson.Options);
    }
}
