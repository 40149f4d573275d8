using Conversations.Tenancy;

namespace Conversations.Api.Security;

/// <summary>
/// Keys from configuration, bound from <c>Conversations:Auth</c>: bootstrap keys for operators. The
/// environment variable <c>CONVERSATIONS_API_KEY</c> adds a platform-admin key of the default tenant;
/// with no key configured at all, one is generated and printed once. Tenants' own keys are managed
/// through the admin API and live in tenant grains.
/// </summary>
public sealed class ApiKeyOptions
{
    public const string Section = "Conversations:Auth";
    public const string EnvironmentVariable = "CONVERSATIONS_API_KEY";
    public const string DefaultTenant = "default";

    public List<ApiKeyEntry> Keys { get; init; } = [];

    /// <summary>How long an API process trusts a cached key lookup; revocations are also pushed at once.</summary>
    public TimeSpan CacheDuration { get; init; } = TimeSpan.FromSeconds(30);
}

public sealed class ApiKeyEntry
{
    public string Key { get; init; } = string.Empty;

    public string Tenant { get; init; } = ApiKeyOptions.DefaultTenant;

    public Role Role { get; init; } = Role.PlatformAdmin;
}
