namespace Conversations.Tenancy;

/// <summary>
/// A tenant: its limits for the whole tenant and for each of its end users, its status, its default context policy,
/// and the caps on what it stores (<see cref="StorageLimits.Default"/> until a platform admin sets them). A tenant admin may
/// make its <see cref="Guardrails"/> stricter than <see cref="PlatformGuardrails"/>, never looser, and narrow its
/// <see cref="AllowedIps"/> within <see cref="PlatformAllowedIps"/> (decision 0052).
/// </summary>
[GenerateSerializer, Immutable, Alias("tenancy.TenantSettings")]
public sealed record TenantSettings(
    [property: Id(0)] string Id,
    [property: Id(1)] string Name,
    [property: Id(2)] bool Disabled,
    [property: Id(3)] Limits Limits,
    [property: Id(4)] Limits UserLimits,
    [property: Id(5)] IReadOnlyList<string> AllowedModels,
    [property: Id(6)] DateTimeOffset CreatedAt,
    [property: Id(7)] Context.ContextPolicy? ContextPolicy = null,
    [property: Id(8)] StorageLimits? StorageLimits = null,
    [property: Id(9)] Caching.CachePolicy? Cache = null,
    [property: Id(20)] Guardrails.GuardrailPolicy? Guardrails = null,
    [property: Id(21)] IReadOnlyList<string>? AllowedIps = null,
    [property: Id(22)] int? AuditRetentionDays = null,
    [property: Id(23)] Guardrails.GuardrailPolicy? PlatformGuardrails = null,
    [property: Id(24)] IReadOnlyList<string>? PlatformAllowedIps = null,
    [property: Id(25)] bool AuditCallText = false)
{
    public StorageLimits Storage => StorageLimits ?? Tenancy.StorageLimits.Default;
}

/// <summary>
/// What a client may set on a tenant (all optional on update). A platform admin's <see cref="Guardrails"/> and
/// <see cref="AllowedIps"/> are also the tenant's bounds (<see cref="TenantSettings.PlatformGuardrails"/>,
/// <see cref="TenantSettings.PlatformAllowedIps"/>); a tenant admin's (<see cref="ByTenantAdmin"/>) are kept within them.
/// </summary>
[GenerateSerializer, Immutable, Alias("tenancy.TenantChange")]
public sealed record TenantChange(
    [property: Id(0)] string? Name = null,
    [property: Id(1)] bool? Disabled = null,
    [property: Id(2)] Limits? Limits = null,
    [property: Id(3)] Limits? UserLimits = null,
    [property: Id(4)] IReadOnlyList<string>? AllowedModels = null,
    [property: Id(5)] PolicyChange? ContextPolicy = null,
    [property: Id(6)] StorageLimits? StorageLimits = null,
    [property: Id(7)] Caching.CachePolicy? Cache = null,
    [property: Id(20)] Guardrails.GuardrailPolicy? Guardrails = null,
    [property: Id(21)] IReadOnlyList<string>? AllowedIps = null,
    [property: Id(22)] int? AuditRetentionDays = null,
    [property: Id(23)] bool ByTenantAdmin = false,
    [property: Id(24)] bool? AuditCallText = null);
