namespace Conversations.Tenancy;

/// <summary>
/// A key's request for a model or an endpoint group its scopes lack (exactly one of <see cref="Model"/> and
/// <see cref="Endpoint"/>), <see cref="AccessRequestStatus.Pending"/> until a tenant admin approves it (the key's scope
/// widens by it) or denies it.
/// </summary>
[GenerateSerializer, Immutable, Alias("tenancy.AccessRequest")]
public sealed record AccessRequest(
    [property: Id(0)] string Id,
    [property: Id(1)] string KeyId,
    [property: Id(2)] string? Model,
    [property: Id(3)] string? Endpoint,
    [property: Id(4)] string? Reason,
    [property: Id(5)] string Status,
    [property: Id(6)] DateTimeOffset CreatedAt,
    [property: Id(7)] DateTimeOffset? DecidedAt = null,
    [property: Id(8)] string? DecidedBy = null);

public static class AccessRequestStatus
{
    public const string Pending = "pending";
    public const string Approved = "approved";
    public const string Denied = "denied";
}

/// <summary>A tenant's access requests, keyed by tenant id (decision 0053).</summary>
public interface IAccessRequestGrain : IGrainWithStringKey
{
    /// <summary>Records <paramref name="requester"/>'s request; a 400 if it already has the access, a 409 if it asked already.</summary>
    Task<Result<AccessRequest>> Ask(Caller requester, string? model, string? endpoint, string? reason);

    /// <summary>The tenant's requests, oldest first.</summary>
    [Orleans.Concurrency.AlwaysInterleave]
    Task<IReadOnlyList<AccessRequest>> List();

    /// <summary>
    /// Approves (the key's scope widens, within <paramref name="approver"/>'s own) or denies a pending request; a 404 for an
    /// unknown one, a 409 for one already decided.
    /// </summary>
    Task<Result<AccessRequest>> Decide(string id, bool approve, Caller approver);
}
