using Conversations.Grains.Routing;
using Conversations.Media;
using Conversations.Providers;
using Conversations.Routing;

namespace Conversations.Grains.Pipeline;

/// <summary>
/// Resolves a call's route: a model the caller may use, planned by its route (<see cref="RoutePlanner"/>), its chat
/// deployments only. A caller with limits has the prompt counted here when it has one (a stateless call), so that the
/// plan fits it to the deployments' windows and admission reuses the count; a turn's prompt is built after the plan.
/// A call with images, files or audio (<paramref name="parts"/>; a stateless call's own) keeps only the deployments that
/// take every kind it carries (<see cref="RouteDeployment.Takes"/>), so fallback never reaches one that cannot; none is a 400.
/// </summary>
public sealed class RouteStage(RoutePlanner routes, TokenCounter tokens)
{
    public async ValueTask<Result<ModelCall>> Resolve(CompletionRequest request, IEnumerable<ContentPart>? parts = null)
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
        var kinds = Modalities.FirstOfEachKind(parts ?? request.Messages.SelectMany(m => m.Parts ?? []));
        if (kinds.Count > 0 && !plan.Deployments.All(d => kinds.All(part => d.Takes(part.Kind))))
        {
            List<RouteDeployment> taking = [.. plan.Deployments.Where(d => kinds.All(part => d.Takes(part.Kind)))];
            if (taking.Count == 0)
            {
                var refused = kinds.FirstOrDefault(part => !plan.Deployments.Any(d => d.Takes(part.Kind))) ?? kinds[^1];
                return GatewayError.Invalid(
                    $"Invalid '{refused.Param ?? "input"}': the model '{request.Model}' does not take {refused.Kind} input{(kinds.Count > 1 ? $" together with {string.Join(" and ", kinds.Where(k => k != refused).Select(k => k.Kind))}" : string.Empty)}; send text, or use a model that takes {refused.Kind}s.",
                    refused.Param ?? "input", "unsupported_input_modality");
            }

            plan = plan with { Deployments = taking };
        }

        return new ModelCall(request, plan, route, prompt);
    }
}
