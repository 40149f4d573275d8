using Conversations.Guardrails;

namespace Conversations.Grains.Guardrails;

/// <summary>
/// Conversation items as a policy with <see cref="PiiPolicy.StoreRedacted"/> stores them: every entity the policy
/// looks for replaced by <c>[KIND]</c> (whatever its action on the way to the model), in texts and function arguments.
/// </summary>
public static class StoredRedaction
{
    public static NewItem Redact(NewItem item, PiiPolicy pii)
    {
        var rewriter = Rewriter(pii);
        var text = rewriter.Rewrite(item.Text).Text;
        return item with { Text = text, Call = item.Call is { } call ? call with { Arguments = rewriter.Rewrite(call.Arguments).Text } : null };
    }

    public static ConversationItem Redact(ConversationItem item, PiiPolicy pii, Func<string, int> countTokens)
    {
        var redacted = Redact(item.ToNew(), pii);
        return redacted == item.ToNew() ? item : item with { Text = redacted.Text, Call = redacted.Call, Tokens = item.Tokens - countTokens(item.CountedText) + countTokens(redacted.CountedText) }; // its parts' tokens kept
    }

    private static PiiRewriter Rewriter(PiiPolicy pii) => new(PiiSelection.For(pii), _ => GuardrailActions.Redact, "store", new GuardrailTally());
}
