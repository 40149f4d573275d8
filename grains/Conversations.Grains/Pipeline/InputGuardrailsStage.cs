using System.Runtime.CompilerServices;
using Conversations.Grains.Guardrails;
using Conversations.Guardrails;

namespace Conversations.Grains.Pipeline;

/// <summary>
/// Input guardrails (<see cref="PromptScreen"/>): injection screening and PII masking, redaction or blocking over the
/// prompt and the text retrieved into it, under the caller's policy. Masks are restored here on the way out, outside
/// the cache and the output guardrails, so the cache keeps only masked answers and no value crosses to another call.
/// A placeholder split across streamed chunks is restored once whole (<see cref="StreamRestorer"/>). A call whose
/// caller has no such policy passes untouched. With an injection classifier in the policy, the new input, masked, is also
/// judged by that model (<see cref="InjectionClassifier"/>).
/// </summary>
public sealed class InputGuardrailsStage(InjectionClassifier classifier) : ICallStage
{
    public IAsyncEnumerable<CompletionChunk> Run(ModelCall call, CallStep next, CancellationToken cancellationToken) =>
        call.Request.Caller?.Guardrails is { } policy && (policy.Pii is not null || policy.Injection is not null)
            ? Guarded(call, policy, next, cancellationToken)
            : next(call, cancellationToken);

    private async IAsyncEnumerable<CompletionChunk> Guarded(ModelCall call, GuardrailPolicy policy, CallStep next, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var screened = PromptScreen.Run(call.Request.Messages, policy);
        if (call.Request.RetrievedGuardrails is { } retrieved) // what the context's knowledge chunks and recalled items were found to hold
        {
            screened = screened with { Report = GuardrailReport.Combine(retrieved, screened.Report) };
        }

        if (screened.Blocked is null && policy.Injection is { Classifier: { } model } injection
            && screened.Messages.LastOrDefault(m => m.Role == Roles.User)?.Text is { Length: > 0 } input)
        {
            screened = Classified(screened, injection, await classifier.IsInjection(input, model, call.Request.Caller!, cancellationToken));
        }

        GatewayMetrics.Guardrails(call.Request.Caller!.Tenant, screened.Report);
        if (screened.Blocked is { } blocked)
        {
            yield return new ErrorChunk(blocked) { Info = new CallInfo(Guardrails: screened.Report) };
            yield break;
        }

        var sent = ReferenceEquals(screened.Messages, call.Request.Messages) ? call : call with { Request = call.Request with { Messages = screened.Messages } };
        var masks = screened.Masks;
        var stream = masks.IsEmpty ? null : new StreamRestorer(masks);
        var info = screened.Report is null ? null : new CallInfo(Guardrails: screened.Report); // rides on the first chunk that leaves
        await foreach (var chunk in next(sent, cancellationToken))
        {
            info = info is null ? chunk.Info : (chunk.Info is null ? info : info.Merge(chunk.Info));
            switch (chunk)
            {
                case DeltaChunk delta when stream is not null:
                    var text = stream.Push(delta.Text);
                    if (text.Length > 0)
                    {
                        yield return new DeltaChunk(text) { Info = info };
                        info = null;
                    }

                    break;
                case FinalChunk final:
                    if (stream?.Flush() is { Length: > 0 } rest)
                    {
                        yield return new DeltaChunk(rest) { Info = info };
                        info = null;
                    }

                    yield return new FinalChunk(Restored(final.Result, masks)) { Info = info };
                    info = null;
                    break;
                case ErrorChunk:
                    if (stream?.Flush() is { Length: > 0 } sentSoFar)
                    {
                        yield return new DeltaChunk(sentSoFar) { Info = info };
                        info = null;
                    }

                    yield return chunk with { Info = info };
                    info = null;
                    break;
                default:
                    yield return chunk with { Info = info };
                    info = null;
                    break;
            }
        }
    }

    /// <summary>The screen with the classifier's finding: an injection flagged or blocked by policy; no verdict flagged, or refused when failing closed.</summary>
    private static PromptScreen.Screened Classified(PromptScreen.Screened screened, InjectionPolicy policy, bool? injection)
    {
        if (injection == false)
        {
            return screened;
        }

        var (kind, action) = injection == true ? ("classifier", policy.Action) : ("classifier_error", policy.FailClosed ? GuardrailActions.Block : GuardrailActions.Flag);
        var report = GuardrailReport.Combine(screened.Report, new GuardrailReport([new GuardrailFinding(PromptScreen.Injection, kind, action, 1)]));
        GatewayError? blocked = action != GuardrailActions.Block ? null
            : injection == true ? PromptScreen.Blocked(PromptScreen.Injection, "the injection classifier judged the input an injection attempt")
            : new GatewayError(503, "server_error", "guardrail_unavailable", "The injection classifier gave no verdict and this tenant's policy fails closed; retry the request.");
        return screened with { Report = report, Blocked = blocked };
    }

    private static CompletionResult Restored(CompletionResult result, MaskTable masks) => masks.IsEmpty ? result : result with
    {
        Text = masks.Restore(result.Text),
        ToolCalls = result.ToolCalls?.Select(call => call with { Arguments = masks.Restore(call.Arguments, json: true) }).ToList(),
    };
}
