namespace Conversations.Tenancy;

/// <summary>What a revocation notice names: a secret's hash, or a whole tenant whose settings changed.</summary>
public static class KeyCacheTokens
{
    private const string TenantPrefix = "tenant:";

    /// <summary>A model name no deployment has: an empty intersection of allowed models allows nothing.</summary>
    public const string NoModel = "(none)";

    public static string Tenant(string tenantId) => TenantPrefix + tenantId;

    public static string? TenantOf(string token) => token.StartsWith(TenantPrefix, StringComparison.Ordinal) ? token[TenantPrefix.Length..] : null;
}
