using System.Runtime.CompilerServices;
using Conversations.Providers;
using Conversations.Tenancy;

namespace Conversations.Grains.Pipeline;

/// <summary>
/// Admits a call against its tenant's quotas on the way in, and settles what it used on the way out. Admission reserves
/// the prompt (counted with the tokenizer) plus the maximum output, at the dearest deployment's prices; settling charges
/// the usage at the prices of the deployment that served it, before the caller sees the result, so usage is recorded once
/// the client has the answer. A call that fails, is cut or is abandoned is settled too, for what the provider evidently
/// processed. A caller with no limits anywhere is not admitted (no tokenizing, no quota round trip) but is settled, unless
/// the call names an end user its tenant's daily cap on them must count (then it is admitted with nothing to reserve); a
/// call with no caller (none of a tenant's) is neither.
/// </summary>
public sealed class AdmissionStage(TokenCounter tokens, IGrainFactory grains) : ICallStage
{
    public IAsyncEnumerable<CompletionChunk> Run(ModelCall call, CallStep next, CancellationToken cancellationToken) =>
        call.Request.Caller is { } caller ? Admitted(call, caller, next, cancellationToken) : next(call, cancellationToken);

    private async IAsyncEnumerable<CompletionChunk> Admitted(ModelCall call, Caller caller, CallStep next, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var request = call.Request;
        var quota = grains.Reference<ITenantQuotaGrain>(caller.Tenant);
        var leaseId = Ids.Opaque();
        var prompt = call.PromptTokens;
        int Prompt() => prompt ??= tokens.CountPrompt(request.PromptTexts);
        var checkedAgainstQuotas = caller.NeedsAdmission(request.EndUser);
        var admitted = !checkedAgainstQuotas ? new Admission(null, null)
            : await quota.Admit(caller.HasNoLimits ? new AdmissionRequest(leaseId, caller, request.EndUser, 0, 0) : Reservation(leaseId, caller, call, Prompt()));
        GatewayMetrics.Admission(caller.Tenant, !checkedAgainstQuotas ? GatewayMetrics.Unlimited : admitted.IsSuccess ? GatewayMetrics.Admitted : admitted.Error.Code ?? admitted.Error.Type);

        if (!admitted.IsSuccess)
        {
            yield return new ErrorChunk(admitted.Error);
            yield break;
        }

        var settled = false;
        var streamed = 0;
        var prices = call.Plan.Deployments[0].Prices;
        var admission = admitted.Value; // rides on the first chunk: a chunk of its own would cost a grain round trip
        try
        {
            await foreach (var chunk in next(call, cancellationToken))
            {
                var passing = admission is null ? chunk : chunk.With(info => info with { Admission = admission });
                admission = null;
                prices = chunk.Info?.Route is { } served ? call.Plan.Config.Find(served.Deployment)?.Prices ?? prices : prices;
                if (passing is FinalChunk { Result: var final } done)
                {
                    var cost = prices.Cost(final.Usage.InputTokens, final.Usage.OutputTokens);
                    await quota.Settle(leaseId, caller, request.EndUser, request.Model, final.Usage, cost);
                    settled = true;
                    yield return done with { Result = final with { CostUsd = cost } };
                    continue;
                }

                streamed += passing is DeltaChunk ? 1 : 0;
                yield return passing;
            }
        }
        finally
        {
            if (!settled)
            {
                if (streamed > 0 && prompt is null)
                {
                    await Task.Yield(); // the prompt is counted with the tokenizer: not on the socket thread the failure arrived on
                }

                var used = streamed == 0 ? new TokenUsage(0, 0) : new TokenUsage(Prompt(), streamed);
                await quota.Settle(leaseId, caller, request.EndUser, request.Model, used, prices.Cost(used.InputTokens, used.OutputTokens));
            }
        }
    }

    private static AdmissionRequest Reservation(string leaseId, Caller caller, ModelCall call, int prompt)
    {
        var maxOutput = call.Request.MaxOutputTokens ?? call.Plan.Deployments.Max(d => d.MaxOutputTokens);
        var estimate = (int)Math.Min(int.MaxValue, (long)prompt + maxOutput);
        return new AdmissionRequest(leaseId, caller, call.Request.EndUser, estimate, call.Plan.Deployments.Max(d => d.Prices.Cost(prompt, maxOutput)));
    }
}
