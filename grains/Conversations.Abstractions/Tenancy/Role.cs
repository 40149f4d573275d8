namespace Conversations.Tenancy;

/// <summary>What a key may do. Each role includes the ones below it.</summary>
[GenerateSerializer]
public enum Role
{
    /// <summary>Calls models and manages its tenant's conversations.</summary>
    Member = 0,

    /// <summary>Also manages its tenant's keys and reads its usage.</summary>
    TenantAdmin = 1,

    /// <summary>Manages every tenant.</summary>
    PlatformAdmin = 2,
}

/// <summary>Role names on the wire.</summary>
public static class RoleNames
{
    public static string Name(Role role) => role switch
    {
        Role.PlatformAdmin => "platform_admin",
        Role.TenantAdmin => "tenant_admin",
        _ => "member",
    };

    public static Role? Parse(string? name) => name switch
    {
        null or "member" => Role.Member,
        "tenant_admin" => Role.TenantAdmin,
        "platform_admin" => Role.PlatformAdmin,
        _ => null,
    };
}
