using System.Runtime.CompilerServices;
using Conversations.Grains.Routing;
using Conversations.Providers;
using Conversations.Routing;
using Conversations.Tenancy;

namespace Conversations.Grains;

/// <summary>
/// The path every model call takes inside a silo, stateless or stateful: plan the route, admit the
/// call against the tenant's quotas, run it along the route (<see cref="ModelRouter"/>), and settle
/// what it used. Failures are <see cref="GatewayError"/> values, never exceptions that cross a grain boundary.
/// </summary>
public sealed class ChatPipeline(ModelRouter router, RoutePlanner routes, TokenCounter tokens, IGrainFactory grains)
{
    public IAsyncEnumerable<CompletionChunk> Run(CompletionRequest request, CancellationToken cancellationToken) => Run(request, null, cancellationToken);

    /// <param name="shape">
    /// Builds the request's messages once the route is planned (a conversation turn fits its context to
    /// the route's windows); a failure (the input alone does not fit) ends the call before admission.
    /// </param>
    public async IAsyncEnumerable<CompletionChunk> Run(
        CompletionRequest request, Func<RoutePlan, Result<CompletionRequest>>? shape, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (request.Caller?.MayUseModel(request.Model) == false)
        {
            yield return CompletionChunk.Failed(GatewayError.ModelNotFound(request.Model));
            yield break;
        }

        // A caller with no limits anywhere has nothing to admit: no tokenizing, no quota round trip; settling still records its usage.
        var caller = request.Caller;
        int? promptTokens = null;
        int Prompt() => promptTokens ??= tokens.CountPrompt(request.PromptTexts);
        var counted = caller is { HasNoLimits: false };
        var (route, planned) = await routes.Plan(caller?.Tenant, request.Model,
            new PlanRequest(request.StickyKey, counted && shape is null ? Prompt() : 0, request.MaxOutputTokens, request.StreamDeltas));
        if (!planned.IsSuccess || planned.Value.Deployments.All(d => !d.ServesChat))
        {
            yield return CompletionChunk.Failed(planned.Error ?? GatewayError.Invalid($"The model '{request.Model}' serves embeddings, not chat.", "model", "model_not_supported"));
            yield break;
        }

        var plan = planned.Value.Deployments.All(d => d.ServesChat)
            ? planned.Value
            : planned.Value with { Deployments = [.. planned.Value.Deployments.Where(d => d.ServesChat)] };

        if (shape?.Invoke(plan) is { } shaped)
        {
            if (!shaped.IsSuccess)
            {
                yield return CompletionChunk.Failed(shaped.Error);
                yield break;
            }

            request = shaped.Value;
        }

        if (caller is null)
        {
            await foreach (var chunk in router.Run(plan, route, request, cancellationToken))
            {
                if (chunk.Delta is null || request.StreamDeltas)
                {
                    yield return chunk;
                }
            }

            yield break;
        }

        // Admission reserves the prompt (counted with the tokenizer) plus the maximum output, at the dearest deployment's prices.
        var quota = grains.Reference<ITenantQuotaGrain>(caller.Tenant);
        var leaseId = Ids.Opaque();
        var admitted = counted ? await quota.Admit(Reservation(leaseId, caller, request, plan, Prompt())) : new Admission(null, null);
        if (!admitted.IsSuccess)
        {
            yield return CompletionChunk.Failed(admitted.Error);
            yield break;
        }

        var settled = false;
        var streamed = 0;
        var prices = plan.Deployments[0].Prices;
        Admission? admission = admitted.Value; // rides on the first chunk: a separate element would cost a grain round trip
        try
        {
            await foreach (var chunk in router.Run(plan, route, request, cancellationToken))
            {
                prices = chunk.Route is { } served ? plan.Config.Find(served.Deployment)?.Prices ?? prices : prices;
                if (chunk.Final is { } final)
                {
                    // Settle before the caller sees the result, so usage is recorded once the client has it.
                    var cost = prices.Cost(final.Usage.InputTokens, final.Usage.OutputTokens);
                    await quota.Settle(leaseId, caller, request.EndUser, request.Model, final.Usage, cost);
                    settled = true;
                    yield return chunk with { Final = final with { CostUsd = cost }, Admission = admission };
                    continue;
                }

                streamed += chunk.Delta is null ? 0 : 1;
                if (chunk.Delta is null || request.StreamDeltas)
                {
                    yield return chunk with { Admission = admission };
                    admission = null;
                }
            }
        }
        finally
        {
            if (!settled)
            {
                // Failed, cut or abandoned: free the slot on every path, charging what the provider evidently processed.
                if (streamed > 0 && promptTokens is null)
                {
                    await Task.Yield(); // the prompt is counted with the tokenizer: not on the socket thread the failure arrived on
                }

                var used = streamed == 0 ? new TokenUsage(0, 0) : new TokenUsage(Prompt(), streamed);
                await quota.Settle(leaseId, caller, request.EndUser, request.Model, used, prices.Cost(used.InputTokens, used.OutputTokens));
            }
        }
    }

    private static AdmissionRequest Reservation(string leaseId, Caller caller, CompletionRequest request, RoutePlan plan, int prompt)
    {
        var maxOutput = request.MaxOutputTokens ?? plan.Deployments.Max(d => d.MaxOutputTokens);
        var estimate = (int)Math.Min(int.MaxValue, (long)prompt + maxOutput);
        return new AdmissionRequest(leaseId, caller, request.EndUser, estimate, plan.Deployments.Max(d => d.Prices.Cost(prompt, maxOutput)));
    }
}
