using Conversations.Api.Errors;
using Conversations.Api.Security;
using Conversations.Tenancy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Conversations.Api.Endpoints;

/// <summary>
/// Access requests (decision 0053): any key asks for a model or an endpoint group its scopes lack
/// (<c>POST /v1/access_requests</c>) and reads its own; tenant admins list, approve (the key's scope widens, within their
/// own) or deny them under <c>/v1/admin/tenants/{id}/access_requests</c>, where each decision is audited.
/// </summary>
public static class AccessRequestEndpoints
{
    public const int MaxReasonLength = 1_000;

    public static RouteGroupBuilder MapAccessRequests(this RouteGroupBuilder v1)
    {
        var own = v1.MapGroup("/access_requests").WithTags("Access requests");
        own.MapPost("/", Ask).WithSummary("Ask for a model or an endpoint group this key may not use yet.")
            .Accepts<AccessRequestCreateJson>("application/json").Produces<AccessRequestJson>()
            .Produces<OpenAIErrorBody>(400).Produces<OpenAIErrorBody>(404).Produces<OpenAIErrorBody>(409);
        own.MapGet("/", ListOwn).WithSummary("This key's access requests, oldest first.").Produces<ListJson<AccessRequestJson>>();

        var admin = v1.MapGroup("/admin/tenants/{tenantId}/access_requests").WithTags("Admin").RequireScope(EndpointGroups.Admin).AddEndpointFilter(AuditTrail.Filter);
        admin.MapGet("/", List).WithSummary("A tenant's access requests (tenant admin), oldest first; 'status' filters.")
            .Produces<ListJson<AccessRequestJson>>().Produces<OpenAIErrorBody>(403).Produces<OpenAIErrorBody>(404);
        admin.MapPost("/{requestId}/approve", (string tenantId, string requestId, [AsParameters] ApiServices api) => Decide(tenantId, requestId, true, api))
            .WithSummary("Approve a pending request: the key may use the model or endpoints from now on (within the approver's own scopes).")
            .Produces<AccessRequestJson>().Produces<OpenAIErrorBody>(403).Produces<OpenAIErrorBody>(404).Produces<OpenAIErrorBody>(409);
        admin.MapPost("/{requestId}/deny", (string tenantId, string requestId, [AsParameters] ApiServices api) => Decide(tenantId, requestId, false, api))
            .WithSummary("Deny a pending request.").Produces<AccessRequestJson>().Produces<OpenAIErrorBody>(403).Produces<OpenAIErrorBody>(404).Produces<OpenAIErrorBody>(409);
        return v1;
    }

    private static async Task<IResult> Ask([AsParameters] ApiServices api)
    {
        var body = await RequestBody.ReadAsync<AccessRequestCreateJson>(api.Http.Request);
        if (!body.IsSuccess)
        {
            return body.Error.ToResult();
        }

        var (model, endpoint, reason) = (body.Value.Model, body.Value.Endpoint, body.Value.Reason);
        GatewayError? invalid =
            (model is null) == (endpoint is null) ? GatewayError.Invalid("Set exactly one of 'model' and 'endpoint'.", "model", "invalid_value")
            : model is { Length: 0 } ? GatewayError.Invalid("Invalid 'model': empty.", "model", "invalid_value")
            : endpoint is not null && !EndpointGroups.All.Contains(endpoint)
                ? GatewayError.Invalid($"Invalid 'endpoint': unknown group '{endpoint}'; expected any of {string.Join(", ", EndpointGroups.All)}.", "endpoint", "invalid_value")
            : reason is { Length: > MaxReasonLength } ? GatewayError.Invalid($"Invalid 'reason': at most {MaxReasonLength} characters.", "reason", "string_above_max_length")
            : null;
        if (invalid is not null)
        {
            return invalid.ToResult();
        }

        var asked = await api.Grains.GetGrain<IAccessRequestGrain>(api.Tenant).Ask(api.Caller, model, endpoint, reason);
        return asked.IsSuccess ? TypedResults.Json(AccessRequestJson.From(asked.Value), ApiJson.Options) : asked.Error.ToResult();
    }

    private static async Task<IResult> ListOwn([AsParameters] ApiServices api) =>
        Listed((await api.Grains.GetGrain<IAccessRequestGrain>(api.Tenant).List()).Where(r => r.KeyId == api.Caller.KeyId));

    private static async Task<IResult> List(string tenantId, string? status, [AsParameters] ApiServices api)
    {
        if (AdminAccess.Check(api.Caller, tenantId, Role.TenantAdmin) is { } denied)
        {
            return denied.ToResult();
        }

        if (status is not (null or AccessRequestStatus.Pending or AccessRequestStatus.Approved or AccessRequestStatus.Denied))
        {
            return GatewayError.Invalid("Invalid 'status': expected pending, approved or denied.", "status", "invalid_value").ToResult();
        }

        return Listed((await api.Grains.GetGrain<IAccessRequestGrain>(tenantId).List()).Where(r => status is null || r.Status == status));
    }

    private static async Task<IResult> Decide(string tenantId, string requestId, bool approve, ApiServices api)
    {
        if (AdminAccess.Check(api.Caller, tenantId, Role.TenantAdmin) is { } denied)
        {
            return denied.ToResult();
        }

        var decided = await api.Grains.GetGrain<IAccessRequestGrain>(tenantId).Decide(requestId, approve, api.Caller);
        return decided.IsSuccess ? TypedResults.Json(AccessRequestJson.From(decided.Value), ApiJson.Options) : decided.Error.ToResult();
    }

    private static JsonHttpResult<ListJson<AccessRequestJson>> Listed(IEnumerable<AccessRequest> requests)
    {
        var data = requests.Select(AccessRequestJson.From).ToList();
        return TypedResults.Json(new ListJson<AccessRequestJson>(data, data.FirstOrDefault()?.Id, data.LastOrDefault()?.Id, false), ApiJson.Options);
    }
}
