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
