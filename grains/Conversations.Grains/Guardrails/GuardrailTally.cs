using Conversations.Guardrails;

namespace Conversations.Grains.Guardrails;

/// <summary>Counts what the guardrails found in one call, by guardrail, kind and action; never the text.</summary>
public sealed class GuardrailTally
{
    private readonly Dictionary<(string Guardrail, string Kind, string Action), int> _counts = [];

    public void Add(string guardrail, string kind, string action) =>
        _counts[(guardrail, kind, action)] = _counts.GetValueOrDefault((guardrail, kind, action)) + 1;

    public GuardrailReport? Report() => _counts.Count == 0 ? null
        : new([.. _counts.Select(c => new GuardrailFinding(c.Key.Guardrail, c.Key.Kind, c.Key.Action, c.Value))]);
}
