using Conversations.Context;
using Conversations.Grains.Pipeline;
using Conversations.Tenancy;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains.Context;

/// <summary>
/// A conversation's rolling summary: after a turn, if a summarizer is set and enough of the items that left the window
/// are not summarized yet, one summarizer call at a time folds the oldest of them into the summary, in the background.
/// A failed call, a cut answer or a conversation changed under the call changes nothing and is retried.
/// </summary>
internal sealed partial class ConversationSummarizer
{
    private readonly ConversationWrites _writes;
    private readonly CallPipeline _pipeline;
    private readonly TimeProvider _clock;
    private readonly SummaryOptions _options;
    private readonly ILogger _logger;
    private readonly BackgroundWork<Job> _work;

    public ConversationSummarizer(IGrainBase grain, ConversationWrites writes, CallPipeline pipeline, TimeProvider clock, SummaryOptions options, ILogger logger)
    {
        (_writes, _pipeline, _clock, _options, _logger) = (writes, pipeline, clock, options, logger);
        _work = new(grain, Summarize, LogFailed, options);
    }

    /// <summary>After a turn that built <paramref name="built"/>: schedules a summary once the backlog is worth one.</summary>
    public void After(ContextPolicy policy, Caller? caller, BuiltContext built)
    {
        if (policy.Summarizer is not { } model)
        {
            return; // without a summarizer, no pass over the history (it grows with every turn)
        }

        var unsummarized = built.Unsummarized.ToList();
        if (unsummarized.Sum(item => item.Tokens) >= (policy.SummarizeAfterTokens ?? 0))
        {
            var pending = unsummarized.Select(item => item.Id).ToHashSet(StringComparer.Ordinal);
            _work.Schedule(new Job(model, caller, pending, policy.SummaryTokens ?? ContextPolicy.Default.SummaryTokens!.Value));
        }
    }

    /// <summary>One summarizer call over the oldest pending items, up to a turn's end.</summary>
    private async Task<PassOutcome> Summarize(Job job, CancellationToken cancellationToken)
    {
        var before = await _writes.Whole(_writes.State);
        var start = before.Summary is { } earlier ? ContextBuilder.Covered(before.Items, earlier) : 0;
        var end = start;
        for (var read = 0; end < before.Items.Count && job.Pending.Contains(before.Items[end].Id); end++)
        {
            if (end > start && read + before.Items[end].Tokens > _options.MaxTranscriptTokens)
            {
                break;
            }

            read += before.Items[end].Tokens;
        }

        // A summary ends where a turn ends, so a turn is never split between the summary and the window.
        end = end < before.Items.Count ? ContextBuilder.TurnStart(before.Items, start, end + 1) : end;
        if (end == start)
        {
            return PassOutcome.Done;
        }

        var batch = before.Items.GetRange(start, end - start);
        var outcome = await _pipeline.Complete(
            new CompletionRequest(job.Model, Summaries.Prompt(before.Summary, batch), MaxOutputTokens: job.SummaryTokens, Caller: job.Caller, StreamDeltas: false), cancellationToken);
        using var gate = await _writes.Enter(cancellationToken);
        var current = await _writes.Whole(_writes.State); // a windowed turn meanwhile may have let go of the older items
        var unchanged = ReferenceEquals(current.Summary, before.Summary)
            && current.Items.Count >= end
            && current.Items.Take(end).Select(i => i.Id).SequenceEqual(before.Items.Take(end).Select(i => i.Id), StringComparer.Ordinal);
        if (outcome is not FinalChunk { Result: { FinishReason: "stop", Text.Length: > 0 } final } || !unchanged)
        {
            // Failed, cut short, or the conversation changed under the summary (an item deleted): try again later, nothing lost or hidden.
            return PassOutcome.Failed((outcome as ErrorChunk)?.Error.Code ?? (unchanged ? "incomplete_summary" : "conversation_changed"));
        }

        var summary = new ConversationSummary(final.Text, batch[^1].Id, end, _clock.GetUtcNow(), job.Model);
        if (await _writes.Persist(current with { Summary = summary }) is not null)
        {
            return PassOutcome.Failed("storage_unavailable");
        }

        // More backlog than one call reads goes on at once.
        return _writes.State.Items.Skip(end).Any(item => job.Pending.Contains(item.Id)) ? PassOutcome.More : PassOutcome.Done;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Summarizing a conversation failed ({Reason}); attempt {Attempt}, retrying later")]
    private partial void LogFailed(string reason, int attempt);

    private sealed record Job(string Model, Caller? Caller, HashSet<string> Pending, int SummaryTokens);
}
