using Conversations.Tenancy;

namespace Conversations.Api;

/// <summary>What a key asks for: exactly one of <c>model</c> (an alias) and <c>endpoint</c> (an endpoint group), and why.</summary>
public sealed record AccessRequestCreateJson(string? Model, string? Endpoint, string? Reason);

/// <summary>An access request; <c>status</c> is <c>pending</c>, <c>approved</c> or <c>denied</c>.</summary>
public sealed record AccessRequestJson(
    string Id, string KeyId, string? Model, string? Endpoint, string? Reason, string Status, long CreatedAt, long? DecidedAt, string? DecidedBy)
{
    public string Object => "access_request";

    public static AccessRequestJson From(AccessRequest request) => new(
        request.Id, request.KeyId, request.Model, request.Endpoint, request.Reason, request.Status, request.CreatedAt.ToUnixTimeSeconds(),
        request.DecidedAt?.ToUnixTimeSeconds(), request.DecidedBy);
}
