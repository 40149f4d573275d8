using Orleans.Concurrency;

namespace Conversations.Audit;

/// <summary>
/// One audited action on a tenant: who (<see cref="ActorKeyId"/> of <see cref="ActorTenant"/>, with its role), from which
/// <see cref="Address"/>, what (<see cref="Action"/> on <see cref="Target"/>) and when. An administrative change carries the
/// object <see cref="Before"/> and <see cref="After"/> as JSON (never a key's secret); a model call (action <c>call</c>,
/// target the model asked for) carries its <see cref="Call"/> details instead, never prompt or answer text.
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
    [property: Id(11)] string? After,
    [property: Id(12)] CallDetails? Call = null)
{
    public const string CallAction = "call";

    public bool IsCall => Call is not null;
}

/// <summary>
/// A tenant's audit records of one UTC day, append-only until retention removes the day whole. Key:
/// <c>{tenant}/{yyyy-MM-dd}</c> (<see cref="AuditKeys"/>). Records are kept in pages (<see cref="IAuditPageGrain"/>), administrative
/// and call records apart, so an append writes one bounded page and never the whole day.
/// </summary>
public interface IAuditGrain : IGrainWithStringKey
{
    /// <summary>Appends the record; it is durable when the call returns.</summary>
    Task<Result<bool>> Append(AuditRecord record);

    /// <summary>
    /// Appends a batch of call records; durable when the call returns. A batch is appended once however often it is sent
    /// with the same <paramref name="batch"/> id, so a sender retries an ambiguous failure with the same id.
    /// </summary>
    Task<Result<bool>> AppendCalls(Guid batch, IReadOnlyList<AuditRecord> records);

    /// <summary>The day's administrative records, oldest first.</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<AuditRecord>> List();

    /// <summary>The day's call records, in the order they were appended.</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<AuditRecord>> ListCalls();

    /// <summary>
    /// The day's call records with an error status (400 or more), counted per status as their batches are appended: the
    /// overview's error chart reads this, not the records.
    /// </summary>
    [AlwaysInterleave]
    Task<IReadOnlyDictionary<int, int>> CallErrors();

    /// <summary>Removes the whole day, its pages first (retention).</summary>
    Task<GatewayError?> Clear();
}

/// <summary>One page of a day's call records. Key: <c>{tenant}/{yyyy-MM-dd}/{n}</c>.</summary>
public interface IAuditPageGrain : IGrainWithStringKey
{
    /// <summary>Appends the records unless the batch is already on the page.</summary>
    Task<GatewayError?> Append(Guid batch, IReadOnlyList<AuditRecord> records);

    /// <summary>Appends one record unless its batch is on the page; false (nothing written) when the page holds <paramref name="capacity"/> records.</summary>
    Task<Result<bool>> TryAppend(Guid batch, AuditRecord record, int capacity);

    [AlwaysInterleave]
    Task<IReadOnlyList<AuditRecord>> List();

    Task<GatewayError?> Clear();
}

/// <summary>
/// A tenant's audit retention, keyed by tenant: it knows the oldest day that may hold records and removes the days that
/// fell out of the tenant's retention (its <c>audit_retention_days</c>, else the platform's).
/// </summary>
public interface IAuditRetentionGrain : IGrainWithStringKey
{
    /// <summary>A day received its first record; days past retention are removed. One-way: the writer never waits for it.</summary>
    [OneWay]
    Task Touch(DateOnly day);

    /// <summary>Removes the days past retention; the oldest instant still kept.</summary>
    Task<DateTimeOffset> Sweep();
}

public static class AuditKeys
{
    /// <summary>Call records per page: a page write stays small however busy the day.</summary>
    public const int PageSize = 500;

    public static string Day(string tenant, DateOnly day) => $"{tenant}/{day:yyyy-MM-dd}";

    /// <summary>Administrative records per page: they carry objects before and after, larger than call records.</summary>
    public const int AdminPageSize = 100;

    public static string Page(string dayKey, int page) => $"{dayKey}/{page}";

    public static string AdminPage(string dayKey, int page) => $"{dayKey}/admin/{page}";
}
