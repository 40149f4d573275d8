using System.Text;
using Conversations.Audit;
using Conversations.Grains.Guardrails;
using Conversations.Guardrails;

namespace Conversations.Grains.Audit;

/// <summary>
/// The prompt and answer text a call record keeps for a tenant that opted in (<c>audit_call_text</c>): the call's new input
/// (its messages after the last assistant message, instructions and retrieved sections left out) and the answer the client
/// got, each with every entity the tenant's PII recognizers know replaced by <c>[KIND]</c>, whatever the PII action (all
/// built-in recognizers when the tenant has no PII policy), then cut to <see cref="CallDetails.MaxTextLength"/>. Redacted
/// before it is cut, so a cut never leaves half a value the recognizers would have missed.
/// </summary>
public static class CallText
{
    public static (string? Prompt, string? Answer) Of(IReadOnlyList<NewItem> messages, CompletionResult? result, PiiPolicy? pii)
    {
        var rewriter = new PiiRewriter(PiiSelection.For(pii), _ => GuardrailActions.Redact, "audit", new GuardrailTally());
        var answer = result is null ? null : Bounded(rewriter.Rewrite(Answer(result)).Text);
        return (Bounded(rewriter.Rewrite(Prompt(messages)).Text), answer);
    }

    /// <summary>The new input, one <c>role: text</c> line per message (a function call as its name and arguments).</summary>
    public static string Prompt(IReadOnlyList<NewItem> messages)
    {
        var start = 0;
        for (var i = messages.Count - 1; i >= 0; i--)
        {
            if (messages[i].Role == Roles.Assistant)
            {
                start = i + 1;
                break;
            }
        }

        var text = new StringBuilder();
        for (var i = start; i < messages.Count; i++)
        {
            var message = messages[i];
            if (message.Role is Roles.System or Roles.Developer)
            {
                continue;
            }

            text.Append(text.Length == 0 ? string.Empty : "\n").Append(message.Role).Append(": ")
                .Append(message.Call is { } call ? $"{call.Name}({call.Arguments})" : message.Text);
        }

        return text.ToString();
    }

    private static string Answer(CompletionResult result) =>
        string.Join('\n', [.. result.Text is { Length: > 0 } text ? [text] : Array.Empty<string>(), .. result.Calls.Select(call => $"{call.Name}({call.Arguments})")]);

    private static string Bounded(string text) =>
        text.Length <= CallDetails.MaxTextLength ? text : string.Concat(text.AsSpan(0, CallDetails.MaxTextLength - CallDetails.Cut.Length), CallDetails.Cut);
}
