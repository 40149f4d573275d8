using System.Globalization;
using System.Text;
using System.Text.Json;
using Conversations.Api.Errors;
using Conversations.Api.Security;
using Conversations.Audit;
using Conversations.Tenancy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Conversations.Api.Endpoints;

/// <summary><c>GET /v1/admin/audit</c>: a tenant's audit records (tenant admins), filtered and paged; JSON, JSON Lines or CSV.</summary>
public static class AuditEndpoints
{
    public const int MaxDays = 93;
    public const int DefaultDays = 7;
    public const int MaxLimit = 1000;

    public static RouteGroupBuilder MapAudit(this RouteGroupBuilder v1)
    {
        v1.MapGet("/admin/audit", Query)
            .WithTags("Admin")
            .RequireScope(EndpointGroups.Admin)
            .WithSummary("A tenant's audit records of admin changes and model calls, oldest first (tenant admin: own tenant; platform admin: any, with 'tenant').")
            .Produces<ListJson<AuditRecordJson>>()
            .Produces(200, contentType: "application/jsonl")
            .Produces(200, contentType: "text/csv")
            .Produces<OpenAIErrorBody>(400).Produces<OpenAIErrorBody>(403);
        return v1;
    }

    private static async Task<IResult> Query(
        [AsParameters] ApiServices api, string? tenant, long? from, long? to, string? actor, string? action, string? kind, string? model, int? status,
        int? limit, string? after, string? format)
    {
        var found = await Find(api.Grains, api.Clock, api.Caller, new AuditQuery(tenant, from, to, actor, action, kind, model, status, limit, after, format));
        if (!found.IsSuccess)
        {
            return found.Error.ToResult();
        }

        var (page, hasMore) = found.Value;
        return format switch
        {
            "jsonl" => TypedResults.Text(string.Concat(page.Select(r => JsonSerializer.Serialize(r, ApiJson.Options) + "\n")), "application/jsonl", Encoding.UTF8),
            "csv" => TypedResults.Text(ToCsv(page), "text/csv", Encoding.UTF8),
            _ => TypedResults.Json(new ListJson<AuditRecordJson>(page, page.FirstOrDefault()?.Id, page.LastOrDefault()?.Id, hasMore), ApiJson.Options),
        };
    }

    /// <summary>
    /// The records <paramref name="query"/> selects for <paramref name="caller"/>, with the endpoint's checks (a tenant admin
    /// of that tenant; a valid range, limit, format and kind): one page, and whether more follow. The portal's audit page reads it too.
    /// </summary>
    public static async Task<Result<(List<AuditRecordJson> Page, bool HasMore)>> Find(IGrainFactory grains, TimeProvider clock, Caller caller, AuditQuery query)
    {
        var (tenant, from, to, actor, action, kind, model, status, limit, after, format) = query;
        var tenantId = tenant ?? caller.Tenant;
        if (AdminAccess.Check(caller, tenantId, Role.TenantAdmin) is { } denied)
        {
            return denied;
        }

        var now = clock.GetUtcNow();
        var end = to is { } t ? DateTimeOffset.FromUnixTimeSeconds(t) : now;
        var start = from is { } f ? DateTimeOffset.FromUnixTimeSeconds(f) : end.AddDays(-DefaultDays);
        var days = DateOnly.FromDateTime(end.UtcDateTime).DayNumber - DateOnly.FromDateTime(start.UtcDateTime).DayNumber + 1;
        if (days is < 1 or > MaxDays)
        {
            return GatewayError.Invalid($"Invalid 'from' and 'to': the range must be 1 to {MaxDays} days, 'from' before 'to'.", "from", "invalid_value");
        }

        if (limit is < 1 or > MaxLimit)
        {
            return GatewayError.Invalid($"Invalid 'limit': expected 1 to {MaxLimit}.", "limit", "invalid_value");
        }

        if (format is not (null or "json" or "jsonl" or "csv"))
        {
            return GatewayError.Invalid("Invalid 'format': expected json, jsonl or csv.", "format", "invalid_value");
        }

        if (kind is not (null or "admin" or "call"))
        {
            return GatewayError.Invalid("Invalid 'kind': expected admin or call.", "kind", "invalid_value");
        }

        var keptFrom = await grains.GetGrain<IAuditRetentionGrain>(tenantId).Sweep(); // past retention: removed, and never shown
        var first = DateOnly.FromDateTime(start.UtcDateTime);
        var read = await Task.WhenAll(Enumerable.Range(0, days).Select(d => Read(grains.GetGrain<IAuditGrain>(AuditKeys.Day(tenantId, first.AddDays(d))), kind)));
        var matching = read.SelectMany(r => r)
            .Where(r => r.At >= start && r.At <= end && r.At >= keptFrom && (actor is null || r.ActorKeyId == actor)
                && (action is null || r.Action.Contains(action, StringComparison.OrdinalIgnoreCase))
                && (model is null || r.Call?.Model == model || r.Call?.Deployment == model) && (status is null || r.Status == status))
            .OrderBy(r => r.At).ThenBy(r => r.Id, StringComparer.Ordinal)
            .ToList();
        var skip = after is null ? 0 : matching.FindIndex(r => r.Id == after) + 1;
        var take = limit ?? (format is "jsonl" or "csv" ? MaxLimit : 100);
        var page = matching.Skip(skip).Take(take).Select(AuditRecordJson.From).ToList();
        return (page, matching.Count > skip + page.Count);
    }

    private static async Task<IEnumerable<AuditRecord>> Read(IAuditGrain day, string? kind) =>
        (kind is "call" ? [] : await day.List()).Concat(kind is "admin" ? [] : await day.ListCalls());

    private static string ToCsv(List<AuditRecordJson> records)
    {
        var csv = new StringBuilder("id,created_at,tenant,actor_key,actor_tenant,actor_role,address,action,target,status,before,after,"
            + "kind,model,deployment,end_user,input_tokens,output_tokens,cost_usd,latency_ms,cache,error_code,guardrails,conversation,prompt,answer\n");
        foreach (var r in records)
        {
            var c = r.Call;
            csv.AppendJoin(',', [.. new[] { r.Id, r.CreatedAt.ToString(CultureInfo.InvariantCulture), r.Tenant, r.ActorKey, r.ActorTenant, r.ActorRole, r.Address,
                r.Action, r.Target, r.Status.ToString(CultureInfo.InvariantCulture), r.Before?.GetRawText(), r.After?.GetRawText(),
                r.Kind, c?.Model, c?.Deployment, c?.EndUser, c?.InputTokens.ToString(CultureInfo.InvariantCulture), c?.OutputTokens.ToString(CultureInfo.InvariantCulture),
                c?.CostUsd.ToString(CultureInfo.InvariantCulture), c?.LatencyMs.ToString(CultureInfo.InvariantCulture), c?.Cache, c?.ErrorCode,
                c?.Guardrails is { } found ? string.Join(' ', found.Select(f => $"{f.Guardrail}.{f.Kind}={f.Action}*{f.Count}")) : null, c?.Conversation,
                c?.Prompt, c?.Answer }.Select(Field)]).Append('\n');
        }

        return csv.ToString();
    }

    /// <summary>RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled.</summary>
    private static string Field(string? value) =>
        value is null ? string.Empty
        : value.AsSpan().IndexOfAny(",\"\r\n") < 0 ? value
        : "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}

/// <summary>The parameters of <c>GET /v1/admin/audit</c>: Unix seconds for the range, a key id for the actor, a part of the action.</summary>
public sealed record AuditQuery(
    string? Tenant, long? From, long? To, string? Actor, string? Action, string? Kind, string? Model, int? Status, int? Limit, string? After, string? Format);
