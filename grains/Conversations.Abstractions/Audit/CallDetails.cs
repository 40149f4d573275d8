namespace Conversations.Audit;

/// <summary>
/// What an audit record of one model call holds beyond who and when: the end user, the model asked for and the deployment
/// that served it, tokens, cost, latency, the cache outcome, an error code, and the guardrails that fired with the action
/// taken and how often (never the text they matched). <see cref="Prompt"/> and <see cref="Answer"/> are there only for a tenant
/// that opted in (<c>audit_call_text</c>), redacted and cut to <see cref="MaxTextLength"/> characters each.
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
    [property: Id(10)] string? Conversation = null,
    [property: Id(11)] string? Prompt = null,
    [property: Id(12)] string? Answer = null)
{
    /// <summary>The most characters of prompt, and of answer, a call record keeps; a longer text is cut and ends with <see cref="Cut"/>.</summary>
    public const int MaxTextLength = 4_000;

    /// <summary>What ends a text cut to <see cref="MaxTextLength"/>.</summary>
    public const string Cut = "…[truncated]";
}
