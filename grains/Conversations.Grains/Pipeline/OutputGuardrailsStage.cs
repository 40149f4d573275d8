using System.Runtime.CompilerServices;
using Conversations.Grains.Guardrails;
using Conversations.Guardrails;

namespace Conversations.Grains.Pipeline;

/// <summary>
/// Output guardrails: the model's answer screened for the policy's PII entities (its own <c>redact</c>, <c>block</c> or
/// <c>flag</c>), whole or as it streams. A stream keeps flowing behind a bounded look-behind (<see cref="AnswerWindow"/>);
/// <c>flag</c> holds nothing back and counts on the whole answer. It sees the answer before masks are restored
/// (<see cref="InputGuardrailsStage"/>), so the client's own values are never taken for the model's.
/// </summary>
public sealed class OutputGuardrailsStage : ICallStage
{
    public const string Output = "output";

    public IAsyncEnumerable<CompletionChunk> Run(ModelCall call, CallStep next, CancellationToken cancellationToken) =>
        call.Request.Caller is { Guardrails: { Output: { } output } policy } caller
            ? Counted(caller.Tenant, Screened(call, output, policy.Pii, next, cancellationToken))
            : next(call, cancellationToken);

    /// <summary>The stream, with what the output guardrails found counted once, from the chunk that reports it.</summary>
    private static async IAsyncEnumerable<CompletionChunk> Counted(string tenant, IAsyncEnumerable<CompletionChunk> screened)
    {
        await foreach (var chunk in screened)
        {
            if (chunk is FinalChunk or ErrorChunk)
            {
                GatewayMetrics.Guardrails(tenant, OutputFindings(chunk.Info?.Guardrails));
            }

            yield return chunk;
        }
    }

    /// <summary>The output guardrail's own findings; the input guardrails' ride on the same report and are counted where they run.</summary>
    private static GuardrailReport? OutputFindings(GuardrailReport? report) =>
        report?.Findings.Where(f => f.Guardrail == Output).ToList() is { Count: > 0 } findings ? new GuardrailReport(findings) : null;

    private static async IAsyncEnumerable<CompletionChunk> Screened(
        ModelCall call, OutputPolicy output, PiiPolicy? pii, CallStep next, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var tally = new GuardrailTally();
        var rewriter = new PiiRewriter(PiiSelection.For(pii), _ => output.Action, Output, tally);
        var window = output.Action == GuardrailActions.Flag ? null : new AnswerWindow(rewriter);
        CallInfo? info = null;
        var streamed = false;
        await foreach (var chunk in next(call, cancellationToken))
        {
            info = info is null ? chunk.Info : (chunk.Info is null ? info : info.Merge(chunk.Info));
            switch (chunk)
            {
                case DeltaChunk delta when window is not null:
                    streamed = true;
                    var (text, blocked) = window.Push(delta.Text);
                    if (blocked is not null)
                    {
                        yield return Blocked(blocked, info, tally);
                        yield break;
                    }

                    if (text.Length > 0)
                    {
                        yield return new DeltaChunk(text) { Info = info };
                        info = null;
                    }

                    break;
                case FinalChunk final:
                    var (rest, cut) = window?.Flush() ?? (string.Empty, null);
                    if (cut is not null)
                    {
                        yield return Blocked(cut, info, tally);
                        yield break;
                    }

                    if (rest.Length > 0)
                    {
                        yield return new DeltaChunk(rest) { Info = info };
                        info = null;
                    }

                    // The whole answer is screened again as one text: it is what the final result carries.
                    var whole = new PiiRewriter(rewriter.Selection, _ => output.Action, Output, window is null || !streamed ? tally : new GuardrailTally());
                    var (answer, refused) = whole.Rewrite(final.Result.Text);
                    var calls = final.Result.ToolCalls?.Select(made => (Call: made, Screened: whole.Rewrite(made.Arguments))).ToList() ?? [];
                    if ((refused ?? calls.Select(c => c.Screened.Blocked).FirstOrDefault(b => b is not null)) is { } kind)
                    {
                        yield return Blocked(kind, info, tally);
                        yield break;
                    }

                    // Screened deltas go out without log probabilities, whose tokens would show what was redacted; so does the answer.
                    var result = final.Result with { Text = answer, Logprobs = window is null ? final.Result.Logprobs : null, ToolCalls = final.Result.ToolCalls is null ? null : [.. calls.Select(c => c.Call with { Arguments = c.Screened.Text })] };
                    yield return new FinalChunk(result) { Info = With(info, tally) };
                    info = null;
                    break;
                default:
                    yield return chunk with { Info = info };
                    info = null;
                    break;
            }
        }
    }

    private static ErrorChunk Blocked(string kind, CallInfo? info, GuardrailTally tally) =>
        new(PromptScreen.Blocked(Output, $"the answer contains {PromptScreen.Describe(kind)}")) { Info = With(info, tally) };

    private static CallInfo? With(CallInfo? info, GuardrailTally tally) =>
        tally.Report() is { } report ? (info ?? CallInfo.None).Merge(new CallInfo(Guardrails: report)) : info;
}
