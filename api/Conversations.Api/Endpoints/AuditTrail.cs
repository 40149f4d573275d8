using System.Text.Json;
using System.Text.Json.Nodes;
using Conversations.Api.Security;
using Conversations.Audit;
using Conversations.Tenancy;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace Conversations.Api.Endpoints;

/// <summary>
/// Records every administrative change that succeeded (a POST, PUT or DELETE under <c>/v1/admin</c>) in its tenant's
/// audit log (<see cref="IAuditGrain"/>): the caller's key, role and address, the route and path, and the object before
/// (a tenant or key, read first) and after (the answer; a key's secret is removed). The record is durable before the
/// answer is sent; a failure to write it is logged, as the change itself is already made.
/// </summary>
public static partial class AuditTrail
{
    public static async ValueTask<object?> Filter(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method))
        {
            return await next(context);
        }

        var grains = http.RequestServices.GetRequiredService<IGrainFactory>();
        var tenantId = http.GetRouteValue("tenantId") as string;
        var keyId = http.GetRouteValue("keyId") as string;
        var clock = http.RequestServices.GetRequiredService<TimeProvider>();
        var before = await Snapshot(grains, tenantId, keyId, http.GetRouteValue("alias") is null && http.GetRouteValue("requestId") is null, clock);
        var result = await next(context);
        var status = (result as IStatusCodeHttpResult)?.StatusCode ?? 200;
        if (status is < 200 or >= 300)
        {
            return result;
        }

        var after = Json((result as IValueHttpResult)?.Value);
        tenantId ??= after?["id"]?.GetValue<string>() ?? http.User.Tenant(); // a tenant's creation
        await Append(http, tenantId, $"{http.Request.Method} {(http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText}", status, before, after);
        return result;
    }

    /// <summary>The key (or, with no key, the tenant) as it is before a change made elsewhere than an admin endpoint (the portal).</summary>
    public static Task<JsonNode?> Before(HttpContext http, string tenantId, string? keyId) =>
        Snapshot(http.RequestServices.GetRequiredService<IGrainFactory>(), tenantId, keyId, true, http.RequestServices.GetRequiredService<TimeProvider>());

    /// <summary>
    /// Records a change that succeeded, made by the request's caller: <paramref name="action"/> names it as the admin API's
    /// route does, so the audit log reads the same whether the change came through the API or the portal.
    /// </summary>
    public static async Task Append(HttpContext http, string tenantId, string action, int status, JsonNode? before, object? after)
    {
        var grains = http.RequestServices.GetRequiredService<IGrainFactory>();
        var caller = http.User.Caller();
        var now = http.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow();
        var record = new AuditRecord(
            Ids.New("audit"), now, tenantId, caller.KeyId, caller.Tenant, RoleNames.Name(caller.Role), http.Connection.RemoteIpAddress?.ToString(),
            action, http.Request.Path.ToString(), status, before?.ToJsonString(ApiJson.Options), (after as JsonNode ?? Json(after))?.ToJsonString(ApiJson.Options));
        await Append(grains, record, http.RequestServices.GetRequiredService<ILoggerFactory>());
    }

    /// <summary>
    /// Appends <paramref name="record"/> to its tenant's log of the day; a failure is logged, not thrown, as what it
    /// records is already done.
    /// </summary>
    public static async Task Append(IGrainFactory grains, AuditRecord record, ILoggerFactory logs)
    {
        string? failure;
        try
        {
            var written = await grains.GetGrain<IAuditGrain>(AuditKeys.Day(record.Tenant, DateOnly.FromDateTime(record.At.UtcDateTime))).Append(record);
            failure = written.Error?.Message;
        }
        catch (Exception exception) when (exception is TimeoutException or OrleansException)
        {
            failure = exception.Message; // the change is made: it is answered, and the missing record logged
        }

        if (failure is not null)
        {
            NotWritten(logs.CreateLogger(typeof(AuditTrail)), record.Action, record.Tenant, failure);
        }
    }

    /// <summary>The tenant or the key a change is about, as <c>GET</c> shows it; nothing for other objects (routes keep their own versions; an access decision's request is its after).</summary>
    private static async Task<JsonNode?> Snapshot(IGrainFactory grains, string? tenantId, string? keyId, bool tenantOrKey, TimeProvider clock)
    {
        if (tenantId is null || !tenantOrKey)
        {
            return null;
        }

        var tenant = grains.GetGrain<ITenantGrain>(tenantId);
        if (keyId is null)
        {
            var settings = await tenant.Get();
            return settings.IsSuccess ? Json(TenantJson.From(settings.Value)) : null;
        }

        var keys = await tenant.ListKeys();
        return keys.IsSuccess && keys.Value.FirstOrDefault(k => k.Id == keyId) is { } key ? Json(KeyJson.From(key, clock.GetUtcNow())) : null;
    }

    private static JsonNode? Json(object? value)
    {
        if (value is null)
        {
            return null;
        }

        var node = JsonSerializer.SerializeToNode(value, value.GetType(), ApiJson.Options);
        (node as JsonObject)?.Remove("secret"); // a key's secret is shown once, to its creator, and recorded nowhere
        return node;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The audit record of {Action} on tenant {Tenant} could not be written: {Error}")]
    private static partial void NotWritten(ILogger logger, string action, string tenant, string error);
}
