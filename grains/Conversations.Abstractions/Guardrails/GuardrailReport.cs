namespace Conversations.Guardrails;

/// <summary>
/// What the guardrails found in one call, never the text itself: per guardrail (<c>pii</c>, <c>injection</c>,
/// <c>output</c>) and kind (<c>email</c>, <c>override</c>, ...), the action taken and how often.
/// </summary>
[GenerateSerializer, Immutable, Alias("guard.Report")]
public sealed record GuardrailReport([property: Id(0)] IReadOnlyList<GuardrailFinding> Findings)
{
    public static GuardrailReport? Combine(GuardrailReport? earlier, GuardrailReport? later) =>
        earlier is null ? later : later is null ? earlier : new([.. earlier.Findings, .. later.Findings]);

    /// <summary>The findings as one header value: <c>pii.email=mask*2, injection.override=flag</c>.</summary>
    public string Describe() =>
        string.Join(", ", Findings.Select(f => $"{f.Guardrail}.{f.Kind}={f.Action}" + (f.Count > 1 ? $"*{f.Count}" : string.Empty)));
}

[GenerateSerializer, Immutable, Alias("guard.Finding")]
public sealed record GuardrailFinding(
    [property: Id(0)] string Guardrail,
    [property: Id(1)] string Kind,
    [property: Id(2)] string Action,
    [property: Id(3)] int Count);
