using System.Text.Json;
using Conversations.Audit;

namespace Conversations.Api;

/// <summary>One audit record on the wire; <c>before</c> and <c>after</c> are the objects as <c>GET</c> showed them.</summary>
public sealed record AuditRecordJson(
    string Id, long CreatedAt, string Tenant, string ActorKey, string ActorTenant, string ActorRole, string? Address,
    string Action, string Target, int Status, JsonElement? Before, JsonElement? After)
{
    public string Object => "audit.record";

    public static AuditRecordJson From(AuditRecord record) => new(
        record.Id, record.At.ToUnixTimeSeconds(), record.Tenant, record.ActorKeyId, record.ActorTenant, record.ActorRole, record.Address,
        record.Action, record.Target, record.Status, Parse(record.Before), Parse(record.After));

    private static JsonElement? Parse(string? json) => json is null ? null : JsonDocument.Parse(json).RootElement.Clone();
}
