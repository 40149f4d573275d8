using System.Text.Json;
using System.Text.RegularExpressions;
using Conversations.Api.Errors;
using Conversations.Api.Security;
using Conversations.Audit;
using Conversations.Tenancy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Conversations.Api.Endpoints;

/// <summary>The admin API: tenants (platform admins) and their API keys (tenant admins and platform admins).</summary>
public static partial class AdminEndpoints
{
    private static readonly TimeSpan DefaultGracePeriod = TimeSpan.FromHours(24);
    private static readonly TimeSpan MaxGracePeriod = TimeSpan.FromDays(30);

    public static RouteGroupBuilder MapAdmin(this RouteGroupBuilder v1)
    {
        var tenants = v1.MapGroup("/admin/tenants").WithTags("Admin").RequireScope(EndpointGroups.Admin).AddEndpointFilter(AuditTrail.Filter);
        tenants.MapPost("/", CreateTenant).WithSummary("Create a tenant (platform admin).")
            .Accepts<TenantCreateJson>("application/json").Produces<TenantJson>().Produces<OpenAIErrorBody>(400).Produces<OpenAIErrorBody>(409);
        tenants.MapGet("/{tenantId}", GetTenant).WithSummary("Read a tenant.").Produces<TenantJson>().Produces<OpenAIErrorBody>(404);
        tenants.MapPost("/{tenantId}", UpdateTenant).WithSummary("Update a tenant (platform admin); its guardrails, allowed addresses and audit retention (tenant admin, within the platform's).")
            .Accepts<TenantUpdateJson>("application/json").Produces<TenantJson>().Produces<OpenAIErrorBody>(400).Produces<OpenAIErrorBody>(403).Produces<OpenAIErrorBody>(404);
        tenants.MapPost("/{tenantId}/keys", CreateKey).WithSummary("Create an API key within the caller's own scopes; the secret is returned only here.")
            .Accepts<KeyCreateJson>("application/json").Produces<KeyJson>().Produces<OpenAIErrorBody>(400).Produces<OpenAIErrorBody>(403).Produces<OpenAIErrorBody>(404);
        tenants.MapGet("/{tenantId}/keys", ListKeys).WithSummary("List a tenant's keys (prefix and metadata only).")
            .Produces<ListJson<KeyJson>>().Produces<OpenAIErrorBody>(404);
        tenants.MapPost("/{tenantId}/keys/{keyId}", UpdateKey).WithSummary("Set a key's guardrails (only ever stricter than its tenant's) and allowed addresses (a key within the caller's own scopes).")
            .Accepts<KeyUpdateJson>("application/json").Produces<KeyJson>().Produces<OpenAIErrorBody>(400).Produces<OpenAIErrorBody>(403).Produces<OpenAIErrorBody>(404);
        tenants.MapPost("/{tenantId}/keys/{keyId}/revoke", RevokeKey).WithSummary("Revoke a key within the caller's own scopes, cluster-wide, at once.")
            .Produces<KeyJson>().Produces<OpenAIErrorBody>(403).Produces<OpenAIErrorBody>(404);
        tenants.MapPost("/{tenantId}/keys/{keyId}/rotate", RotateKey).WithSummary("Issue a new secret for a key within the caller's own scopes; the old one works for the grace period.")
            .Accepts<KeyRotateJson>(isOptional: true, "application/json").Produces<KeyJson>().Produces<OpenAIErrorBody>(403).Produces<OpenAIErrorBody>(404);
        return v1;
    }

    private static async Task<IResult> CreateTenant([AsParameters] ApiServices api)
    {
        if (api.Caller.Role != Role.PlatformAdmin)
        {
            return ApiErrors.Forbidden("Only platform admins create tenants.").ToResult();
        }

        var body = await RequestBody.ReadAsync<TenantCreateJson>(api.Http.Request);
        if (!body.IsSuccess)
        {
            return body.Error.ToResult();
        }

        var (id, json) = (body.Value.Id, body.Value);
        if (id is null || !TenantIdPattern().IsMatch(id))
        {
            return GatewayError.Invalid("Invalid 'id': use 2 to 63 lowercase letters, digits and dashes, starting with a letter or digit.", "id", "invalid_value").ToResult();
        }

        var storage = StorageLimitsJson.Read(json.StorageLimits, "storage_limits");
        var cache = CachePolicyJson.Read(json.Cache, "cache");
        var guardrails = GuardrailsJson.Read(json.Guardrails, "guardrails");
        var ips = AllowedIpsJson.Read(json.AllowedIps, "allowed_ips");
        if ((json.Limits?.Validate("limits") ?? json.UserLimits?.Validate("user_limits") ?? storage.Error ?? cache.Error ?? guardrails.Error ?? ips.Error
            ?? Retention(json.AuditRetentionDays, api)) is { } invalid)
        {
            return invalid.ToResult();
        }

        var created = await api.Grains.GetGrain<ITenantGrain>(id).Create(
            json.Name ?? id, new TenantChange(null, null, json.Limits?.ToLimits(), json.UserLimits?.ToLimits(), json.AllowedModels, StorageLimits: storage.Value,
                Cache: cache.Value, Guardrails: guardrails.Value, AllowedIps: ips.Value, AuditRetentionDays: json.AuditRetentionDays, AuditCallText: json.AuditCallText));
        return created.IsSuccess ? TypedResults.Json(TenantJson.From(created.Value), ApiJson.Options) : created.Error.ToResult();
    }

    private static async Task<IResult> GetTenant(string tenantId, [AsParameters] ApiServices api)
    {
        if (AdminAccess.Check(api.Caller, tenantId, Role.TenantAdmin) is { } denied)
        {
            return denied.ToResult();
        }

        var tenant = await api.Grains.GetGrain<ITenantGrain>(tenantId).Get();
        return tenant.IsSuccess
            ? TypedResults.Json(TenantJson.From(tenant.Value, await api.Grains.GetGrain<ITenantStorageGrain>(tenantId).Get()), ApiJson.Options)
            : tenant.Error.ToResult();
    }

    private static async Task<IResult> UpdateTenant(string tenantId, [AsParameters] ApiServices api)
    {
        if (AdminAccess.Check(api.Caller, tenantId, Role.TenantAdmin) is { } denied)
        {
            return denied.ToResult();
        }

        var body = await RequestBody.ReadAsync<TenantUpdateJson>(api.Http.Request);
        if (!body.IsSuccess)
        {
            return body.Error.ToResult();
        }

        var json = body.Value;
        var byTenantAdmin = api.Caller.Role != Role.PlatformAdmin;
        if (byTenantAdmin && PlatformOnly(json) is { } field)
        {
            return GatewayError.Forbidden($"A tenant admin may set its tenant's guardrails, allowed_ips, audit_retention_days and audit_call_text; '{field}' needs platform_admin.", field).ToResult();
        }

        var storage = StorageLimitsJson.Read(json.StorageLimits, "storage_limits");
        var cache = CachePolicyJson.Read(json.Cache, "cache");
        var guardrails = GuardrailsJson.Read(json.Guardrails, "guardrails");
        var ips = AllowedIpsJson.Read(json.AllowedIps, "allowed_ips");
        if ((json.Limits?.Validate("limits") ?? json.UserLimits?.Validate("user_limits") ?? storage.Error ?? cache.Error ?? guardrails.Error ?? ips.Error
            ?? Retention(json.AuditRetentionDays, api)) is { } invalid)
        {
            return invalid.ToResult();
        }

        var policy = json.ContextPolicy?.ToPolicy("context_policy");
        if (policy is { IsSuccess: false })
        {
            return policy.Value.Error.ToResult();
        }

        if (await KnowledgeBaseEndpoints.CheckPolicy(policy?.Value, api, "context_policy", tenantId) is { } unknown)
        {
            return unknown.ToResult();
        }

        var updated = await api.Grains.GetGrain<ITenantGrain>(tenantId).Update(
            new TenantChange(json.Name, json.Disabled, json.Limits?.ToLimits(), json.UserLimits?.ToLimits(), json.AllowedModels,
                policy is { } set ? new PolicyChange(set.Value) : null, storage.Value, cache.Value, guardrails.Value, ips.Value, json.AuditRetentionDays, byTenantAdmin,
                json.AuditCallText));
        return updated.IsSuccess ? TypedResults.Json(TenantJson.From(updated.Value), ApiJson.Options) : updated.Error.ToResult();
    }

    private static async Task<IResult> CreateKey(string tenantId, [AsParameters] ApiServices api)
    {
        if (AdminAccess.Check(api.Caller, tenantId, Role.TenantAdmin) is { } denied)
        {
            return denied.ToResult();
        }

        var body = await RequestBody.ReadAsync<KeyCreateJson>(api.Http.Request);
        if (!body.IsSuccess)
        {
            return body.Error.ToResult();
        }

        var json = body.Value;
        if (RoleNames.Parse(json.Role) is not { } role)
        {
            return GatewayError.Invalid("Invalid 'role': expected 'member', 'tenant_admin' or 'platform_admin'.", "role", "invalid_value").ToResult();
        }

        if (json.AllowedEndpoints?.FirstOrDefault(group => !EndpointGroups.All.Contains(group)) is { } unknown)
        {
            return GatewayError.Invalid($"Invalid 'allowed_endpoints': unknown group '{unknown}'; expected any of {string.Join(", ", EndpointGroups.All)}.", "allowed_endpoints", "invalid_value").ToResult();
        }

        if (json.AllowedMcpTools?.FirstOrDefault(entry => !McpToolAllowlist.IsValidEntry(entry)) is { } badTool)
        {
            return GatewayError.Invalid($"Invalid 'allowed_mcp_tools': '{badTool}' is neither a tool's name nor 'server__*'.", "allowed_mcp_tools", "invalid_value").ToResult();
        }

        var now = api.Clock.GetUtcNow();
        if (json.ExpiresAt is < 0 or > 253_402_300_799) // year 9999
        {
            return GatewayError.Invalid("Invalid 'expires_at': expected a Unix time in seconds.", "expires_at", "invalid_value").ToResult();
        }

        DateTimeOffset? expiresAt = json.ExpiresAt is { } unix ? DateTimeOffset.FromUnixTimeSeconds(unix) : null;
        if (expiresAt <= now)
        {
            return GatewayError.Invalid("Invalid 'expires_at': it must be in the future.", "expires_at", "invalid_value").ToResult();
        }

        var guardrails = GuardrailsJson.Read(json.Guardrails, "guardrails");
        var ips = AllowedIpsJson.Read(json.AllowedIps, "allowed_ips");
        if ((json.Limits?.Validate("limits") ?? guardrails.Error ?? ips.Error) is { } invalid)
        {
            return invalid.ToResult();
        }

        var issued = await api.Grains.GetGrain<ITenantGrain>(tenantId).CreateKey(new NewApiKey(
            json.Name ?? "unnamed", role, json.AllowedModels ?? [], json.AllowedEndpoints ?? [], json.Limits?.ToLimits() ?? Limits.None, expiresAt, guardrails.Value, ips.Value,
            json.AllowedMcpTools),
            api.Caller);
        return issued.IsSuccess
            ? TypedResults.Json(KeyJson.From(issued.Value.Key, now, issued.Value.Secret), ApiJson.Options)
            : issued.Error.ToResult();
    }

    private static async Task<IResult> ListKeys(string tenantId, [AsParameters] ApiServices api)
    {
        if (AdminAccess.Check(api.Caller, tenantId, Role.TenantAdmin) is { } denied)
        {
            return denied.ToResult();
        }

        var keys = await api.Grains.GetGrain<ITenantGrain>(tenantId).ListKeys();
        if (!keys.IsSuccess)
        {
            return keys.Error.ToResult();
        }

        var now = api.Clock.GetUtcNow();
        var data = keys.Value.Select(k => KeyJson.From(k, now)).ToList();
        return TypedResults.Json(new ListJson<KeyJson>(data, data.FirstOrDefault()?.Id, data.LastOrDefault()?.Id, false), ApiJson.Options);
    }

    private static async Task<IResult> UpdateKey(string tenantId, string keyId, [AsParameters] ApiServices api)
    {
        if (AdminAccess.Check(api.Caller, tenantId, Role.TenantAdmin) is { } denied)
        {
            return denied.ToResult();
        }

        var body = await RequestBody.ReadAsync<KeyUpdateJson>(api.Http.Request);
        if (!body.IsSuccess)
        {
            return body.Error.ToResult();
        }

        var guardrails = GuardrailsJson.Read(body.Value.Guardrails, "guardrails");
        var ips = AllowedIpsJson.Read(body.Value.AllowedIps, "allowed_ips");
        if ((guardrails.Error ?? ips.Error) is { } invalid)
        {
            return invalid.ToResult();
        }

        var updated = await api.Grains.GetGrain<ITenantGrain>(tenantId).UpdateKey(keyId, new KeyChange(guardrails.Value, ips.Value), api.Caller);
        return updated.IsSuccess ? TypedResults.Json(KeyJson.From(updated.Value, api.Clock.GetUtcNow()), ApiJson.Options) : updated.Error.ToResult();
    }

    private static async Task<IResult> RevokeKey(string tenantId, string keyId, [AsParameters] ApiServices api)
    {
        if (AdminAccess.Check(api.Caller, tenantId, Role.TenantAdmin) is { } denied)
        {
            return denied.ToResult();
        }

        var revoked = await api.Grains.GetGrain<ITenantGrain>(tenantId).RevokeKey(keyId, api.Caller);
        return revoked.IsSuccess ? TypedResults.Json(KeyJson.From(revoked.Value, api.Clock.GetUtcNow()), ApiJson.Options) : revoked.Error.ToResult();
    }

    private static async Task<IResult> RotateKey(string tenantId, string keyId, [AsParameters] ApiServices api)
    {
        if (AdminAccess.Check(api.Caller, tenantId, Role.TenantAdmin) is { } denied)
        {
            return denied.ToResult();
        }

        var body = await RequestBody.ReadOptionalAsync(api.Http.Request, new KeyRotateJson(null));
        if (!body.IsSuccess)
        {
            return body.Error.ToResult();
        }

        if (body.Value.GracePeriodSeconds is < 0 || body.Value.GracePeriodSeconds > MaxGracePeriod.TotalSeconds)
        {
            return GatewayError.Invalid($"Invalid 'grace_period_seconds': expected 0 to {MaxGracePeriod.TotalSeconds}.", "grace_period_seconds", "invalid_value").ToResult();
        }

        var grace = body.Value.GracePeriodSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : DefaultGracePeriod;
        var rotated = await api.Grains.GetGrain<ITenantGrain>(tenantId).RotateKey(keyId, grace, api.Caller);
        return rotated.IsSuccess
            ? TypedResults.Json(KeyJson.From(rotated.Value.Key, api.Clock.GetUtcNow(), rotated.Value.Secret), ApiJson.Options)
            : rotated.Error.ToResult();
    }

    /// <summary>The first field of a tenant update that only a platform admin may set (decision 0052), if any.</summary>
    private static string? PlatformOnly(TenantUpdateJson json) =>
        json.Name is not null ? "name" : json.Disabled is not null ? "disabled" : json.Limits is not null ? "limits" : json.UserLimits is not null ? "user_limits"
        : json.AllowedModels is not null ? "allowed_models" : json.ContextPolicy is not null ? "context_policy" : json.StorageLimits is { ValueKind: not JsonValueKind.Null } ? "storage_limits"
        : json.Cache is not null ? "cache" : null;

    /// <summary>A tenant's audit retention: at least a day, at most what the platform allows.</summary>
    private static GatewayError? Retention(int? days, ApiServices api)
    {
        var most = api.Http.RequestServices.GetRequiredService<IOptions<AuditOptions>>().Value.MaxRetentionDays;
        return days is < 1 || days > most ? GatewayError.Invalid($"Invalid 'audit_retention_days': expected 1 to {most}.", "audit_retention_days", "invalid_value") : null;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{1,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex TenantIdPattern();
}
