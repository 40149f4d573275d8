namespace Conversations.Api.Security;

/// <summary>
/// API keys accepted at start-up, bound from <c>Conversations:Auth</c>. The environment variable
/// <c>CONVERSATIONS_API_KEY</c> adds one for the default tenant; with none at all, one is generated
/// and printed once. (Managed keys with roles and rotation come from key grains later.)
/// </summary>
public sealed class ApiKeyOptions
{
    public const string Section = "Conversations:Auth";
    public const string EnvironmentVariable = "CONVERSATIONS_API_KEY";
    public const string DefaultTenant = "default";

    public List<ApiKeyEntry> Keys { get; init; } = [];
}

public sealed class ApiKeyEntry
{
    public string Key { get; init; } = string.Empty;

    public string Tenant { get; init; } = ApiKeyOptions.DefaultTenant;
}
