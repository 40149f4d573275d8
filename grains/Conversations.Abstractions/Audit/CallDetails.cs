namespace Conversations.Audit;

/// <summary>
/// What an audit record of one model call holds beyond who and when: the end user, the model asked for and the deployment
/// that served it, tokens, cost, latency, the cache outcome, an error code, and the guardrails that fired with the action
/// taken and how often (never the text they matched).
/// </summary>
[GenerateSerializer, Immutable, Alias("audit.Call")]
public sealed record CallDetails(
    [property: Id(0)] string Model,
    [property: Id(1)] string? Deployment,
    [property: Id(2)] string? EndUser,
    [property: Id(3)] int InputTokens,
    [property: Id(4)] int OutputTokens,
    [property: Id(5)] decimal CostUsd,
    [property: Id(6)] long LatencyMs,
    [property: Id(7)] string? Cache,
    [property: Id(8)] string? ErrorCode,
    [property: Id(9)] IReadOnlyList<Guardrails.GuardrailFinding>? Guardrails,
    [property: Id(10)] string? Conversation = null);
