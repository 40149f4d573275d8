using Conversations.Context;
using Conversations.Grains.Pipeline;
using Conversations.Providers;

namespace Conversations.Grains.Context;

/// <summary>
/// A turn's context, compacted in the turn when the request asks (<see cref="TurnRequest.CompactThreshold"/>, OpenAI's
/// <c>context_management</c>) and its prompt tokens are above the threshold: every item the rolling summary does not cover
/// yet is folded into it now, with the rolling summary's prompt, at most <see cref="SummaryOptions.MaxTranscriptTokens"/>
/// of transcript per call; the context is built again on that summary and the compaction item made of it (decision 0083).
/// The summary is the turn's to write: it is stored with the turn's items, so the next turn starts from it.
/// </summary>
internal sealed class TurnCompaction(TurnContext context, CallPipeline pipeline, ConversationWrites writes, TokenCounter tokens, TimeProvider clock, SummaryOptions options)
{
    /// <summary>The turn's context as <see cref="TurnContext.Build"/> makes it, or, compacted, on <paramref name="current"/> with its new summary.</summary>
    public async Task<Result<CompactedTurn>> Build(
        TurnRequest request, List<ConversationItem> input, ContextPolicy policy, ConversationState current, ModelCall planned, CancellationToken cancellationToken)
    {
        var built = await context.Build(request, input, policy, current, planned, cancellationToken);
        if (!built.IsSuccess)
        {
            return built.Error;
        }

        if (request.CompactThreshold is not { } threshold || tokens.CountPrompt((request.Options with { Messages = built.Value.Messages }).PromptTexts) <= threshold)
        {
            return new CompactedTurn(current, built.Value, null);
        }

        var whole = await writes.Whole(current);
        var summary = await Summarize(request, policy, whole, cancellationToken);
        if (!summary.IsSuccess || summary.Value is not { } made)
        {
            return summary.IsSuccess ? new CompactedTurn(current, built.Value, null) : summary.Error; // nothing older than the input to summarize
        }

        var compacted = whole with { Summary = made };
        var rebuilt = await context.Build(request, input, policy, compacted, planned, cancellationToken);
        return rebuilt.IsSuccess
            ? new CompactedTurn(compacted, rebuilt.Value, CompactionItems.Of(made.Text, tokens.Count(made.Text), clock.GetUtcNow(), request.ResponseId))
            : rebuilt.Error;
    }

    /// <summary>The summary of every item of <paramref name="whole"/>, built on its summary; null when it already covers them all.</summary>
    private async Task<Result<ConversationSummary?>> Summarize(
        TurnRequest request, ContextPolicy policy, ConversationState whole, CancellationToken cancellationToken)
    {
        var model = policy.Summarizer ?? request.Options.Model; // as the stateless compaction, the turn's own model without a summarizer
        var start = whole.Summary is { } earlier ? ContextBuilder.Covered(whole.Items, earlier) : 0;
        var summary = start > 0 ? whole.Summary : null; // a summary whose last item is gone is stale: the history is summarized afresh
        var made = false;
        while (start < whole.Items.Count)
        {
            var end = start + 1;
            for (var read = whole.Items[start].Tokens; end < whole.Items.Count && read + whole.Items[end].Tokens <= options.MaxTranscriptTokens; end++)
            {
                read += whole.Items[end].Tokens;
            }

            var outcome = await pipeline.Complete(
                new CompletionRequest(model, Summaries.Prompt(summary, whole.Items.Skip(start).Take(end - start)),
                    MaxOutputTokens: policy.SummaryTokens ?? ContextPolicy.Default.SummaryTokens, Caller: request.Options.Caller, StreamDeltas: false),
                cancellationToken);
            if (outcome is not FinalChunk { Result: { Text.Length: > 0 } final })
            {
                return (outcome as ErrorChunk)?.Error ?? new GatewayError(502, "server_error", "empty_summary", "The model answered no summary of the conversation; retry the request.");
            }

            summary = new ConversationSummary(final.Text, whole.Items[end - 1].Id, end, clock.GetUtcNow(), model);
            (start, made) = (end, true);
        }

        return made ? summary : null;
    }
}

/// <summary>A turn's context (<see cref="Built"/>) on <see cref="State"/>, with the <see cref="Compaction"/> item when it was compacted.</summary>
internal sealed record CompactedTurn(ConversationState State, BuiltContext Built, ConversationItem? Compaction);
