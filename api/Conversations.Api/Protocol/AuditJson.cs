using System.Text.Json;
using Conversations.Audit;

namespace Conversations.Api;

/// <summary>
/// One audit record on the wire. <c>kind</c> is <c>admin</c> (an administrative change: <c>before</c> and <c>after</c> are
/// the objects as <c>GET</c> showed them) or <c>call</c> (a model call: action <c>call</c>, target the model asked for,
/// and its <c>call</c> details).
/// </summary>
public sealed record AuditRecordJson(
    string Id, long CreatedAt, string Tenant, string ActorKey, string ActorTenant, string ActorRole, string? Address,
    string Action, string Target, int Status, JsonElement? Before, JsonElement? After, CallAuditJson? Call = null)
{
    public string Object => "audit.record";

    public string Kind => Call is null ? "admin" : "call";

    public static AuditRecordJson From(AuditRecord record) => new(
        record.Id, record.At.ToUnixTimeSeconds(), record.Tenant, record.ActorKeyId, record.ActorTenant, record.ActorRole, record.Address,
        record.Action, record.Target, record.Status, Parse(record.Before), Parse(record.After), CallAuditJson.From(record.Call));

    private static JsonElement? Parse(string? json) => json is null ? null : JsonDocument.Parse(json).RootElement.Clone();
}

/// <summary>
/// What a call record holds: guardrails as what fired, the action and how often; prompt and answer text only for a tenant
/// with <c>audit_call_text</c>, redacted and cut (<see cref="CallDetails.MaxTextLength"/>).
/// </summary>
public sealed record CallAuditJson(
    string Model, string? Deployment, string? EndUser, int InputTokens, int OutputTokens, decimal CostUsd, long LatencyMs, string? Cache,
    string? ErrorCode, IReadOnlyList<GuardrailFindingJson>? Guardrails, string? Conversation, string? Prompt = null, string? Answer = null)
{
    public static CallAuditJson? From(CallDetails? call) => call is null ? null : new(
        call.Model, call.Deployment, call.EndUser, call.InputTokens, call.OutputTokens, call.CostUsd, call.LatencyMs, call.Cache, call.ErrorCode,
        call.Guardrails?.Select(f => new GuardrailFindingJson(f.Guardrail, f.Kind, f.Action, f.Count)).ToList(), call.Conversation, call.Prompt, call.Answer);
}

public sealed record GuardrailFindingJson(string Guardrail, string Kind, string Action, int Count);
