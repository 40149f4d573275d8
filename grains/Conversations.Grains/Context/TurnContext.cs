using Conversations.Context;
using Conversations.Grains.Media;
using Conversations.Grains.Memory;
using Conversations.Grains.Pipeline;
using Conversations.Providers;
using Conversations.Routing;

namespace Conversations.Grains.Context;

/// <summary>
/// What a conversation turn sends the model: its context, built for the route's plan (and the kinds of input its deployments take),
/// from the newest items an activation holds, reading the older ones only when the turn needs them (<see cref="ConversationState.Unloaded"/>).
/// </summary>
internal sealed class TurnContext(ContextBuilder builder, ConversationRecall recall, ConversationWrites writes, TokenCounter tokens)
{
    /// <summary>The id a previewed input is listed under.</summary>
    public const string PreviewInputId = "input";

    /// <summary>
    /// <paramref name="current"/>, whole when the turn works over more than its window: tool calls and outputs (checked against every
    /// call), a retried key (its items), memory that reads the history (a summarizer, an extractor, recall) or a summary that ends in
    /// items not read yet.
    /// </summary>
    public Task<ConversationState> Read(TurnRequest request, List<ConversationItem> input, ContextPolicy policy, ConversationState current)
    {
        // A policy that reads the history on every turn keeps it in memory; a windowed one lets go of it after each write.
        writes.KeepsHistory = policy.Summarizer is not null || policy.Extractor is not null || policy.Recalls;
        return current.Unloaded > 0 && (
            input.Exists(item => item.Call is not null || item.CallId is not null)
            || (request.Idempotency is { } key && current.FindIdempotent(key.Key) is not null)
            || writes.KeepsHistory
            || current.Summary?.Items <= current.Unloaded)
            ? writes.Whole(current)
            : Task.FromResult(current);
    }

    /// <summary>
    /// Recall and retrieval for the new input, then the context for the plan's windows less what the tools take; built again on
    /// every item when the window took all the newest and the older ones are not read yet.
    /// </summary>
    public async Task<Result<BuiltContext>> Build(
        TurnRequest request, List<ConversationItem> input, ContextPolicy policy, ConversationState current, ModelCall planned, CancellationToken cancellationToken)
    {
        using var _ = ContextMetrics.Time();
        var recalled = policy.Recalls || policy.Retrieves ? await recall.Search(input, policy, cancellationToken) : ConversationRecall.Recalled.None;
        var toolTokens = request.Options.Tools is null ? 0 : tokens.CountPrompt(request.Options.ToolTexts) - TokenCounter.MessageOverhead;
        var budget = Math.Max(0, ContextBudget.For(planned.Plan.Deployments, request.Options.MaxOutputTokens, policy) - toolTokens);
        for (; ; current = await writes.Whole(current))
        {
            // Images, files and audio go only to deployments that take them: the plan keeps those the input needs, history leaves out the rest.
            var (history, omitted) = ConversationMedia.ForPlan(current.Items, planned.Plan.Deployments);
            var built = builder.Build(new ContextInputs(request.Instructions, current.Facts, history, input, budget, policy, current.Summary, recalled.Items, recalled.Knowledge)
            {
                Omitted = omitted,
                RecallMarks = recalled.Marks,
                FactTimes = current.FactTimes,
                Injection = request.Options.Caller?.Guardrails?.Injection,
            });
            if (current.Unloaded == 0 || built is not { IsSuccess: true, Value.ReachedStart: true })
            {
                return built;
            }
        }
    }

    /// <summary>
    /// The context a turn on <paramref name="config"/>'s route would send now, every left-out item listed: with no new input, or
    /// with <paramref name="input"/> as a user message (listed as <see cref="PreviewInputId"/>), recall and knowledge searched for it
    /// and screened under <paramref name="injection"/>.
    /// </summary>
    public async Task<Result<ContextView>> Preview(
        ConversationState current, RouteConfig config, int? maxOutputTokens, ContextPolicy? tenantPolicy, string? input, Conversations.Guardrails.InjectionPolicy? injection)
    {
        current = await writes.Whole(current);
        var effective = ContextPolicy.Layered(null, current.Policy, tenantPolicy);
        List<ConversationItem> inputs = input is null ? [] : [new ConversationItem(PreviewInputId, Roles.User, input, tokens.Count(input), DateTimeOffset.UnixEpoch)];
        var recalled = inputs.Count > 0 && (effective.Recalls || effective.Retrieves) ? await recall.Search(inputs, effective, CancellationToken.None) : ConversationRecall.Recalled.None;
        var (history, omitted) = ConversationMedia.ForPlan(current.Items, config.Deployments);
        var built = builder.Build(new ContextInputs(
            null, current.Facts, history, inputs, ContextBudget.For(config.Deployments, maxOutputTokens, effective), effective, current.Summary, recalled.Items, recalled.Knowledge)
        {
            Omitted = omitted,
            RecallMarks = recalled.Marks,
            FactTimes = current.FactTimes,
            Injection = injection,
        });
        return built.IsSuccess ? built.Value.View : built.Error;
    }
}
