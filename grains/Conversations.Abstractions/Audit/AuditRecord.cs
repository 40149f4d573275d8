using Orleans.Concurrency;

namespace Conversations.Audit;

/// <summary>
/// One administrative action on a tenant: who (<see cref="ActorKeyId"/> of <see cref="ActorTenant"/>, with its role),
/// from which <see cref="Address"/>, what (<see cref="Action"/> on <see cref="Target"/>), the object
/// <see cref="Before"/> and <see cref="After"/> as JSON (never a key's secret), and when.
/// </summary>
[GenerateSerializer, Immutable, Alias("audit.Record")]
public sealed record AuditRecord(
    [property: Id(0)] string Id,
    [property: Id(1)] DateTimeOffset At,
    [property: Id(2)] string Tenant,
    [property: Id(3)] string ActorKeyId,
    [property: Id(4)] string ActorTenant,
    [property: Id(5)] string ActorRole,
    [property: Id(6)] string? Address,
    [property: Id(7)] string Action,
    [property: Id(8)] string Target,
    [property: Id(9)] int Status,
    [property: Id(10)] string? Before,
    [property: Id(11)] string? After);

/// <summary>A tenant's audit records of one UTC day, append-only. Key: <c>{tenant}/{yyyy-MM-dd}</c> (<see cref="AuditKeys"/>).</summary>
public interface IAuditGrain : IGrainWithStringKey
{
    /// <summary>Appends the record; it is durable when the call returns.</summary>
    Task<Result<bool>> Append(AuditRecord record);

    /// <summary>The day's records, oldest first.</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<AuditRecord>> List();
}

public static class AuditKeys
{
    public static string Day(string tenant, DateOnly day) => $"{tenant}/{day:yyyy-MM-dd}";
}
