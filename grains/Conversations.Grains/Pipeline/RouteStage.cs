using Conversations.Grains.Routing;
using Conversations.Providers;
using Conversations.Routing;

namespace Conversations.Grains.Pipeline;

/// <summary>
/// Resolves a call's route: a model the caller may use, planned by its route (<see cref="RoutePlanner"/>), its chat
/// deployments only. A caller with limits has the prompt counted here when it has one (a stateless call), so that the
/// plan fits it to the deployments' windows and admission reuses the count; a turn's prompt is built after the plan.
/// </summary>
public sealed class RouteStage(RoutePlanner routes, TokenCounter tokens)
{
    public async ValueTask<Result<ModelCall>> Resolve(CompletionRequest request)
    {
        var caller = request.Caller;
        if (caller?.MayUseModel(request.Model) == false)
        {
            return GatewayError.ModelNotFound(request.Model);
        }

        int? prompt = caller is { HasNoLimits: false } && request.Messages.Count > 0 ? tokens.CountPrompt(request.PromptTexts) : null;
        var (route, planned) = await routes.Plan(caller?.Tenant, request.Model,
            new PlanRequest(request.StickyKey, prompt ?? 0, request.MaxOutputTokens, request.StreamDeltas));
        if (!planned.IsSuccess || planned.Value.Deployments.All(d => !d.ServesChat))
        {
            return planned.Error ?? GatewayError.Invalid($"The model '{request.Model}' serves embeddings, not chat.", "model", "model_not_supported");
        }

        var plan = planned.Value.Deployments.All(d => d.ServesChat)
            ? planned.Value
            : planned.Value with { Deployments = [.. planned.Value.Deployments.Where(d => d.ServesChat)] };
        return new ModelCall(request, plan, route, prompt);
    }
}
