using Conversations.Api.Errors;
using Conversations.Api.Security;
using Conversations.Tenancy;
using Conversations.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Conversations.Api.Endpoints;

/// <summary>
/// The admin API for a tenant's webhook endpoints (decision 0061): register (the <c>whsec_</c> secret is shown once), list,
/// read, disable and enable, delete, and each endpoint's delivery log with a manual redelivery.
/// </summary>
public static class WebhookAdminEndpoints
{
    public static RouteGroupBuilder MapWebhookAdmin(this RouteGroupBuilder v1)
    {
        var webhooks = v1.MapGroup("/admin/tenants/{tenantId}/webhooks").WithTags("Admin").RequireScope(EndpointGroups.Admin).AddEndpointFilter(AuditTrail.Filter);
        webhooks.MapPost("/", Create).WithSummary("Register a webhook endpoint for background responses' events; its signing secret is shown once.")
            .Accepts<WebhookCreateJson>("application/json").Produces<WebhookEndpointJson>().Produces<OpenAIErrorBody>(400).Produces<OpenAIErrorBody>(404);
        webhooks.MapGet("/", List).WithSummary("List the tenant's webhook endpoints.")
            .Produces<ListJson<WebhookEndpointJson>>().Produces<OpenAIErrorBody>(404);
        webhooks.MapGet("/{webhookId}", Get).WithSummary("Read a webhook endpoint.")
            .Produces<WebhookEndpointJson>().Produces<OpenAIErrorBody>(404);
        webhooks.MapDelete("/{webhookId}", Delete).WithSummary("Delete a webhook endpoint; what it had not delivered is dropped.")
            .Produces<WebhookEndpointJson>().Produces<OpenAIErrorBody>(404);
        webhooks.MapPost("/{webhookId}/disable", Disable).WithSummary("Disable an endpoint: events are not queued for it until it is enabled; queued ones are still sent.")
            .Produces<WebhookEndpointJson>().Produces<OpenAIErrorBody>(404);
        webhooks.MapPost("/{webhookId}/enable", Enable).WithSummary("Enable a disabled endpoint again.")
            .Produces<WebhookEndpointJson>().Produces<OpenAIErrorBody>(404);
        webhooks.MapGet("/{webhookId}/deliveries", Deliveries).WithSummary("The endpoint's delivery log, newest first.")
            .Produces<ListJson<WebhookDeliveryJson>>().Produces<OpenAIErrorBody>(404);
        webhooks.MapPost("/{webhookId}/deliveries/{eventId}/redeliver", Redeliver).WithSummary("Queue a logged event for this endpoint again.")
            .Produces<WebhookDeliveryJson>().Produces<OpenAIErrorBody>(404);
        return v1;
    }

    private static async Task<IResult> Create(string tenantId, [AsParameters] ApiServices api)
    {
        if (AdminAccess.Check(api.Caller, tenantId, Role.TenantAdmin) is { } denied)
        {
            return denied.ToResult();
        }

        var body = await RequestBody.ReadAsync<WebhookCreateJson>(api.Http.Request);
        if (!body.IsSuccess)
        {
            return body.Error.ToResult();
        }

        if (body.Value.Url is null)
        {
            return GatewayError.Invalid("Missing required parameter: 'url'.", "url", "missing_required_parameter").ToResult();
        }

        if (body.Value.Description is { Length: > 512 })
        {
            return GatewayError.Invalid("Invalid 'description': at most 512 characters.", "description", "string_above_max_length").ToResult();
        }

        var endpoint = new WebhookEndpoint(
            Ids.New(WebhookEndpoint.IdPrefix), body.Value.Url, body.Value.Events ?? [], WebhookEndpoint.NewSecret(), api.Clock.GetUtcNow(), body.Value.Description);
        var created = await Endpoints(tenantId, api).Create(endpoint);
        return created.IsSuccess ? TypedResults.Json(WebhookEndpointJson.From(created.Value, withSecret: true), ApiJson.Options) : created.Error.ToResult();
    }

    private static async Task<IResult> List(string tenantId, [AsParameters] ApiServices api)
    {
        if (AdminAccess.Check(api.Caller, tenantId, Role.TenantAdmin) is { } denied)
        {
            return denied.ToResult();
        }

        var data = (await Endpoints(tenantId, api).List()).Select(e => WebhookEndpointJson.From(e)).ToList();
        return TypedResults.Json(new ListJson<WebhookEndpointJson>(data, data.FirstOrDefault()?.Id, data.LastOrDefault()?.Id, false), ApiJson.Options);
    }

    private static async Task<IResult> Get(string tenantId, string webhookId, [AsParameters] ApiServices api) =>
        AdminAccess.Check(api.Caller, tenantId, Role.TenantAdmin) is { } denied ? denied.ToResult() : Answer(await Endpoints(tenantId, api).Get(webhookId));

    private static async Task<IResult> Delete(string tenantId, string webhookId, [AsParameters] ApiServices api) =>
        AdminAccess.Check(api.Caller, tenantId, Role.TenantAdmin) is { } denied ? denied.ToResult() : Answer(await Endpoints(tenantId, api).Delete(webhookId));

    private static async Task<IResult> Disable(string tenantId, string webhookId, [AsParameters] ApiServices api) =>
        AdminAccess.Check(api.Caller, tenantId, Role.TenantAdmin) is { } denied ? denied.ToResult() : Answer(await Endpoints(tenantId, api).SetDisabled(webhookId, true));

    private static async Task<IResult> Enable(string tenantId, string webhookId, [AsParameters] ApiServices api) =>
        AdminAccess.Check(api.Caller, tenantId, Role.TenantAdmin) is { } denied ? denied.ToResult() : Answer(await Endpoints(tenantId, api).SetDisabled(webhookId, false));

    private static async Task<IResult> Deliveries(string tenantId, string webhookId, [AsParameters] ApiServices api)
    {
        if (AdminAccess.Check(api.Caller, tenantId, Role.TenantAdmin) is { } denied)
        {
            return denied.ToResult();
        }

        var endpoint = await Endpoints(tenantId, api).Get(webhookId);
        if (!endpoint.IsSuccess)
        {
            return endpoint.Error.ToResult();
        }

        var data = (await Delivery(tenantId, webhookId, api).Deliveries()).Select(WebhookDeliveryJson.From).ToList();
        return TypedResults.Json(new ListJson<WebhookDeliveryJson>(data, data.FirstOrDefault()?.Id, data.LastOrDefault()?.Id, false), ApiJson.Options);
    }

    private static async Task<IResult> Redeliver(string tenantId, string webhookId, string eventId, [AsParameters] ApiServices api)
    {
        if (AdminAccess.Check(api.Caller, tenantId, Role.TenantAdmin) is { } denied)
        {
            return denied.ToResult();
        }

        var endpoint = await Endpoints(tenantId, api).Get(webhookId);
        var redelivered = endpoint.IsSuccess ? await Delivery(tenantId, webhookId, api).Redeliver(eventId) : (Result<WebhookDelivery>)endpoint.Error;
        return redelivered.IsSuccess ? TypedResults.Json(WebhookDeliveryJson.From(redelivered.Value), ApiJson.Options) : redelivered.Error.ToResult();
    }

    private static IResult Answer(Result<WebhookEndpoint> endpoint) =>
        endpoint.IsSuccess ? TypedResults.Json(WebhookEndpointJson.From(endpoint.Value), ApiJson.Options) : endpoint.Error.ToResult();

    private static IWebhookEndpointsGrain Endpoints(string tenantId, ApiServices api) => api.Grains.GetGrain<IWebhookEndpointsGrain>(tenantId);

    private static IWebhookDeliveryGrain Delivery(string tenantId, string webhookId, ApiServices api) =>
        api.Grains.GetGrain<IWebhookDeliveryGrain>(GrainKeys.For(tenantId, webhookId));
}
