using Conversations.Context;
using Conversations.Grains.Media;
using Conversations.Grains.Memory;
using Conversations.Grains.Pipeline;
using Conversations.Providers;

namespace Conversations.Grains.Context;

/// <summary>What a conversation turn sends the model: its context, built for the route's plan (and the kinds of input its deployments take).</summary>
internal sealed class TurnContext(ContextBuilder builder, ConversationRecall recall, TokenCounter tokens)
{
    /// <summary>Recall and retrieval for the new input, then the context for the plan's windows less what the tools take.</summary>
    public async Task<Result<BuiltContext>> Build(
        TurnRequest request, List<ConversationItem> input, ContextPolicy policy, ConversationState current, ModelCall planned, CancellationToken cancellationToken)
    {
        using var _ = ContextMetrics.Time();
        var recalled = policy.Recalls || policy.Retrieves ? await recall.Search(input, policy, cancellationToken) : ConversationRecall.Recalled.None;
        var toolTokens = request.Options.Tools is null ? 0 : tokens.CountPrompt(request.Options.ToolTexts) - TokenCounter.MessageOverhead;
        var budget = Math.Max(0, ContextBudget.For(planned.Plan.Deployments, request.Options.MaxOutputTokens, policy) - toolTokens);
        // Images, files and audio go only to deployments that take them: the plan keeps those the input needs, history leaves out the rest.
        var (history, omitted) = ConversationMedia.ForPlan(current.Items, planned.Plan.Deployments);
        return builder.Build(new ContextInputs(request.Instructions, current.Facts, history, input, budget, policy, current.Summary, recalled.Items, recalled.Knowledge)
        {
            Omitted = omitted,
            RecallMarks = recalled.Marks,
        });
    }
}
