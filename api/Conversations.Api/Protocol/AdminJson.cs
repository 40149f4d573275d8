using System.Text.Json;
using Conversations.Tenancy;

namespace Conversations.Api;

public sealed record LimitsJson(
    int? RequestsPerMinute = null,
    int? TokensPerMinute = null,
    int? MaxConcurrentRequests = null,
    long? DailyTokens = null,
    long? MonthlyTokens = null,
    decimal? DailyCostUsd = null,
    decimal? MonthlyCostUsd = null)
{
    public Limits ToLimits() => new(RequestsPerMinute, TokensPerMinute, MaxConcurrentRequests, DailyTokens, MonthlyTokens, DailyCostUsd, MonthlyCostUsd);

    public static LimitsJson From(Limits limits) => new(
        limits.RequestsPerMinute, limits.TokensPerMinute, limits.MaxConcurrentRequests,
        limits.DailyTokens, limits.MonthlyTokens, limits.DailyCostUsd, limits.MonthlyCostUsd);

    public GatewayError? Validate(string param)
    {
        var negative = (RequestsPerMinute < 0, TokensPerMinute < 0, MaxConcurrentRequests < 0, DailyTokens < 0, MonthlyTokens < 0, DailyCostUsd < 0, MonthlyCostUsd < 0);
        return negative == default ? null : GatewayError.Invalid($"Invalid '{param}': limits must not be negative.", param, "invalid_value");
    }
}

/// <summary><c>storage_limits</c> is read by <see cref="StorageLimitsJson.Read"/>: it tells a field left out from one set to null.</summary>
/// <summary>
/// <c>guardrails</c> is read by <see cref="GuardrailsJson.Read"/>; <c>audit_retention_days</c> is bounded by the platform's
/// <c>MaxRetentionDays</c>; <c>audit_call_text</c> (default false) keeps each call's prompt and answer, redacted, in its audit record.
/// </summary>
public sealed record TenantCreateJson(
    string? Id, string? Name, LimitsJson? Limits, LimitsJson? UserLimits, List<string>? AllowedModels, JsonElement? StorageLimits = null, CachePolicyJson? Cache = null,
    JsonElement? Guardrails = null, List<string>? AllowedIps = null, int? AuditRetentionDays = null, bool? AuditCallText = null);

public sealed record TenantUpdateJson(
    string? Name, bool? Disabled, LimitsJson? Limits, LimitsJson? UserLimits, List<string>? AllowedModels, ContextPolicyJson? ContextPolicy = null, JsonElement? StorageLimits = null,
    CachePolicyJson? Cache = null, JsonElement? Guardrails = null, List<string>? AllowedIps = null, int? AuditRetentionDays = null, bool? AuditCallText = null);

/// <summary>
/// A tenant; <c>context_policy</c> is the default for its conversations (they and requests override it field by field);
/// <c>stored</c>, in a read only, is what the tenant stores as its storage caps count it. <c>platform_guardrails</c> and
/// <c>platform_allowed_ips</c> are what a platform admin set: the bounds within which a tenant admin sets the others.
/// </summary>
public sealed record TenantJson(
    string Id, string Name, string Status, LimitsJson Limits, LimitsJson UserLimits, IReadOnlyList<string> AllowedModels, long CreatedAt,
    StorageLimitsJson StorageLimits, ContextPolicyJson? ContextPolicy = null, StoredJson? Stored = null, CachePolicyJson? Cache = null, GuardrailsJson? Guardrails = null,
    IReadOnlyList<string>? AllowedIps = null, int? AuditRetentionDays = null, GuardrailsJson? PlatformGuardrails = null, IReadOnlyList<string>? PlatformAllowedIps = null,
    bool AuditCallText = false)
{
    public string Object => "tenant";

    public static TenantJson From(TenantSettings tenant, StoredData? stored = null) => new(
        tenant.Id, tenant.Name, tenant.Disabled ? "disabled" : "active",
        LimitsJson.From(tenant.Limits), LimitsJson.From(tenant.UserLimits), tenant.AllowedModels, tenant.CreatedAt.ToUnixTimeSeconds(),
        StorageLimitsJson.From(tenant.Storage), ContextPolicyJson.From(tenant.ContextPolicy), stored is null ? null : new StoredJson(stored.Conversations, stored.Bytes),
        CachePolicyJson.From(tenant.Cache), GuardrailsJson.From(tenant.Guardrails), tenant.AllowedIps, tenant.AuditRetentionDays,
        GuardrailsJson.From(tenant.PlatformGuardrails), tenant.PlatformAllowedIps, tenant.AuditCallText);
}

/// <summary>What a tenant stores, as its caps count it (a count is kept while its cap is finite).</summary>
public sealed record StoredJson(long Conversations, long Bytes);

public sealed record KeyCreateJson(
    string? Name, string? Role, List<string>? AllowedModels, List<string>? AllowedEndpoints, LimitsJson? Limits, long? ExpiresAt, JsonElement? Guardrails = null,
    List<string>? AllowedIps = null, List<string>? AllowedMcpTools = null);

/// <summary>What may change on a key after its creation: its guardrails (<c>{}</c> removes them) and allowed addresses (<c>[]</c> removes them); a field left out stays.</summary>
public sealed record KeyUpdateJson(JsonElement? Guardrails, List<string>? AllowedIps = null);

public sealed record KeyRotateJson(long? GracePeriodSeconds);

/// <summary>An API key; <see cref="Secret"/> is present only in the answer that creates or rotates it.</summary>
public sealed record KeyJson(
    string Id,
    string Tenant,
    string Name,
    string Prefix,
    string Role,
    string Status,
    IReadOnlyList<string> AllowedModels,
    IReadOnlyList<string> AllowedEndpoints,
    LimitsJson Limits,
    long CreatedAt,
    long? ExpiresAt,
    long? RevokedAt,
    long? PreviousSecretValidUntil,
    string? Secret = null,
    GuardrailsJson? Guardrails = null,
    IReadOnlyList<string>? AllowedIps = null,
    IReadOnlyList<string>? AllowedMcpTools = null)
{
    public string Object => "api_key";

    public static KeyJson From(ApiKeyInfo key, DateTimeOffset now, string? secret = null) => new(
        key.Id, key.Tenant, key.Name, key.Prefix, RoleNames.Name(key.Role), key.Status(now), key.AllowedModels, key.AllowedEndpoints,
        LimitsJson.From(key.Limits), key.CreatedAt.ToUnixTimeSeconds(), key.ExpiresAt?.ToUnixTimeSeconds(), key.RevokedAt?.ToUnixTimeSeconds(),
        key.PreviousSecretValidUntil?.ToUnixTimeSeconds(), secret, GuardrailsJson.From(key.Guardrails), key.AllowedIps, key.AllowedMcpTools);
}

/// <summary>A row of the usage report; <c>cache_hits</c> are requests the response cache answered, <c>saved_cost_usd</c> what they would have cost.</summary>
public sealed record UsageRowJson(
    string? Day, string? KeyId, string? User, string? Model, long Requests, long InputTokens, long OutputTokens, long TotalTokens, decimal CostUsd,
    long CacheHits = 0, decimal SavedCostUsd = 0);
