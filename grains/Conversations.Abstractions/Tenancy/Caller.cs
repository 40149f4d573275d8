namespace Conversations.Tenancy;

/// <summary>
/// Who is calling, as established from an API key: tenant, key, role, scopes, and the limits that
/// apply to its calls. Carried with every model call so quotas are enforced where the call runs.
/// <see cref="KeyExpiresAt"/> is the key's own expiry, the bound on any key it creates. <see cref="Guardrails"/> is the
/// tenant's guardrail policy narrowed by the key's, so a call's guardrails cost no grain call. A call must come from an
/// address within both <see cref="TenantAllowedIps"/> and <see cref="KeyAllowedIps"/> (null: any).
/// </summary>
[GenerateSerializer, Immutable, Alias("tenancy.Caller")]
public sealed record Caller(
    [property: Id(0)] string Tenant,
    [property: Id(1)] string KeyId,
    [property: Id(2)] Role Role,
    [property: Id(3)] IReadOnlyList<string> AllowedModels,
    [property: Id(4)] IReadOnlyList<string> AllowedEndpoints,
    [property: Id(5)] Limits KeyLimits,
    [property: Id(6)] Limits TenantLimits,
    [property: Id(7)] Limits UserLimits,
    [property: Id(8)] Context.ContextPolicy? TenantContextPolicy = null,
    [property: Id(9)] DateTimeOffset? KeyExpiresAt = null,
    [property: Id(10)] StorageLimits? TenantStorageLimits = null,
    [property: Id(11)] Caching.CachePolicy? TenantCache = null,
    [property: Id(20)] Guardrails.GuardrailPolicy? Guardrails = null,
    [property: Id(21)] IReadOnlyList<string>? TenantAllowedIps = null,
    [property: Id(22)] IReadOnlyList<string>? KeyAllowedIps = null,
    [property: Id(23)] IReadOnlyList<string>? AllowedMcpTools = null,
    [property: Id(24)] bool AuditCallText = false)
{
    /// <summary>Whether a call may come from <paramref name="address"/>: within the tenant's allowlist and the key's, each when set.</summary>
    public bool AllowsAddress(System.Net.IPAddress? address) =>
        IpAllowlist.Allows(TenantAllowedIps, address) && IpAllowlist.Allows(KeyAllowedIps, address);

    /// <summary>The tenant's storage caps (its defaults when it set none).</summary>
    public StorageLimits Storage => TenantStorageLimits ?? StorageLimits.Default;

    public bool MayUseModel(string model) => KeyScope.Allows(AllowedModels, model);

    public bool MayUseEndpoints(string group) => KeyScope.Allows(AllowedEndpoints, group);

    /// <summary>Everything this caller's key can do: what bounds the keys and routes it may act on.</summary>
    public KeyScope Scope => new(Role, AllowedModels, AllowedEndpoints, KeyLimits, KeyExpiresAt, AllowedMcpTools);

    /// <summary>Whether this caller's key may use the MCP tool <paramref name="tool"/> (<see cref="McpToolAllowlist"/>).</summary>
    public bool MayUseMcpTool(string tool) => McpToolAllowlist.Allows(AllowedMcpTools, tool);

    public bool HasNoLimits => KeyLimits.IsUnlimited && TenantLimits.IsUnlimited && UserLimits.IsUnlimited;

    /// <summary>Whether a call for <paramref name="endUser"/> goes through admission: a limit applies, or the end user counts against the day's cap.</summary>
    public bool NeedsAdmission(string? endUser) => !HasNoLimits || (endUser is { Length: > 0 } && Storage.EndUsersPerDay is not null);
}

/// <summary>The endpoint groups a key's scopes can name.</summary>
public static class EndpointGroups
{
    public const string Chat = "chat";
    public const string Responses = "responses";
    public const string Conversations = "conversations";
    public const string Models = "models";
    public const string Usage = "usage";
    public const string Admin = "admin";
    public const string Knowledge = "knowledge";
    public const string Files = "files";

    public static readonly IReadOnlyList<string> All = [Chat, Responses, Conversations, Models, Usage, Admin, Knowledge, Files];
}
