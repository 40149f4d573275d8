using Conversations.Guardrails;

namespace Conversations.Grains.Guardrails;

/// <summary>
/// The input guardrails over one call's messages, as a pure step: injection screening of what the call adds (the
/// messages after the last assistant message: new user input and tool outputs; retrieved knowledge and recalled items are
/// screened one by one where the context is built, <see cref="RetrievedScreen"/>), then PII in every message, history
/// included, so no raw value reaches the model
/// in mask or redact mode. The result is the messages to send, the masks to restore, or the error that blocks the call.
/// </summary>
public static class PromptScreen
{
    public const string Pii = "pii";
    public const string Injection = "injection";

    public sealed record Screened(IReadOnlyList<NewItem> Messages, MaskTable Masks, GuardrailReport? Report, GatewayError? Blocked);

    public static Screened Run(IReadOnlyList<NewItem> messages, GuardrailPolicy policy)
    {
        var tally = new GuardrailTally();
        var masks = new MaskTable();
        if (policy.Injection is { } injection && Injected(messages, injection, tally) is { } blocked)
        {
            return new Screened(messages, masks, tally.Report(), blocked);
        }

        if (policy.Pii is not { } pii)
        {
            return new Screened(messages, masks, tally.Report(), null);
        }

        var rewriter = new PiiRewriter(PiiSelection.For(pii), pii.ActionFor, Pii, tally, masks);
        var sent = new List<NewItem>(messages.Count);
        foreach (var message in messages)
        {
            var (text, blockedKind) = rewriter.Rewrite(message.Text);
            var arguments = message.Call is not { } call ? (string.Empty, null) : blockedKind is null ? rewriter.Rewrite(call.Arguments) : (call.Arguments, null);
            if ((blockedKind ?? arguments.Blocked) is { } kind)
            {
                return new Screened(messages, masks, tally.Report(), Blocked(Pii, $"the prompt contains {Describe(kind)}"));
            }

            sent.Add(ReferenceEquals(text, message.Text) && (message.Call is null || ReferenceEquals(arguments.Text, message.Call.Arguments))
                ? message
                : message with { Text = text, Call = message.Call is { } made ? made with { Arguments = arguments.Text } : null });
        }

        return new Screened(sent, masks, tally.Report(), null);
    }

    /// <summary>The 400 a <c>block</c> answers with; it names the guardrail, never the value.</summary>
    public static GatewayError Blocked(string guardrail, string reason) =>
        new(400, "invalid_request_error", "guardrail_blocked", $"The request was blocked by the '{guardrail}' guardrail: {reason}.");

    public static string Describe(string kind) => kind switch
    {
        PiiKinds.Email => "an email address",
        PiiKinds.Phone => "a phone number",
        PiiKinds.CreditCard => "a payment card number",
        PiiKinds.Iban => "an IBAN",
        PiiKinds.IpAddress => "an IP address",
        PiiKinds.UsSsn => "a US social security number",
        PiiKinds.Secret => "a secret (an API key, token or private key)",
        _ => $"a match of the pattern '{kind}'",
    };

    private static GatewayError? Injected(IReadOnlyList<NewItem> messages, InjectionPolicy policy, GuardrailTally tally)
    {
        var lastAssistant = -1;
        for (var i = messages.Count - 1; i >= 0; i--)
        {
            if (messages[i].Role == Roles.Assistant)
            {
                lastAssistant = i;
                break;
            }
        }

        for (var i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            var source = i <= lastAssistant ? null
                : message.Role == Roles.User ? "the user input"
                : message.Kind == ItemKinds.FunctionCallOutput ? "a tool output"
                : null;
            if (source is null)
            {
                continue;
            }

            foreach (var signal in InjectionHeuristics.Screen(message.Text))
            {
                tally.Add(Injection, signal, policy.Action);
                if (policy.Action == GuardrailActions.Block)
                {
                    return Blocked(Injection, $"{source} looks like a prompt injection ({signal.Replace('_', ' ')})");
                }
            }
        }

        return null;
    }
}
