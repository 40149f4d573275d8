using Conversations.Guardrails;

namespace Conversations.Grains.Guardrails;

/// <summary>
/// Indirect injection: the tenant's injection policy over each knowledge-base chunk and recalled item a context would hold,
/// one at a time, with the heuristics only (a classifier call per chunk would add a model round trip per chunk to every
/// turn). <c>flag</c> records the finding and keeps the text; <c>block</c> leaves that chunk or item out, never the call.
/// Findings are named by where the text came from (<c>knowledge.override</c>, <c>recall.role_marker</c>), so a record tells
/// them from the user input's.
/// </summary>
public sealed class RetrievedScreen(InjectionPolicy? policy)
{
    public const string Knowledge = "knowledge";
    public const string Recall = "recall";

    private GuardrailTally? _tally;
    private List<string>? _leftOut;

    /// <summary>Whether the text goes into the context; a finding is tallied either way.</summary>
    public bool Keeps(string source, string id, string text)
    {
        if (policy is null || InjectionHeuristics.Screen(text) is not { Count: > 0 } signals)
        {
            return true;
        }

        _tally ??= new GuardrailTally();
        foreach (var signal in signals)
        {
            _tally.Add(PromptScreen.Injection, $"{source}.{signal}", policy.Action);
        }

        if (policy.Action != GuardrailActions.Block)
        {
            return true;
        }

        (_leftOut ??= []).Add(id);
        return false;
    }

    /// <summary>The ids of the chunks and items left out, in the order they were screened.</summary>
    public IReadOnlyList<string> LeftOut => _leftOut ?? (IReadOnlyList<string>)[];

    public GuardrailReport? Report => _tally?.Report();
}
