using Conversations.Grains.Pipeline;
using Conversations.Tenancy;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains.Context;

/// <summary>
/// A conversation's fact extraction: after a turn, when the policy names an extractor, one extractor call at a time reads
/// the items it has not read (<see cref="FactExtraction"/>) in the background. Its changes are merged into the facts as they
/// are now, and the mark moves past those items. A failed call, an answer that is not a JSON object, or an item deleted
/// meanwhile changes nothing and is retried.
/// </summary>
internal sealed partial class FactExtractor
{
    private readonly ConversationWrites _writes;
    private readonly CallPipeline _pipeline;
    private readonly SummaryOptions _options;
    private readonly ILogger _logger;
    private readonly BackgroundWork<Job> _work;

    public FactExtractor(IGrainBase grain, ConversationWrites writes, CallPipeline pipeline, SummaryOptions options, ILogger logger)
    {
        (_writes, _pipeline, _options, _logger) = (writes, pipeline, options, logger);
        _work = new(grain, Extract, LogFailed, options);
    }

    public void After(string extractor, Caller? caller) => _work.Schedule(new Job(extractor, caller));

    private async Task<PassOutcome> Extract(Job job, CancellationToken cancellationToken)
    {
        var before = await _writes.Whole(_writes.State);
        var batch = FactExtraction.Unread(before.Items, before.ExtractedThroughItemId, _options.MaxTranscriptTokens);
        if (batch.Count == 0)
        {
            return PassOutcome.Done;
        }

        var outcome = await _pipeline.Complete(new CompletionRequest(job.Model, FactExtraction.Prompt(before.Facts, batch), MaxOutputTokens: FactExtraction.MaxAnswerTokens,
            Caller: job.Caller, StreamDeltas: false, Format: OutputFormat.JsonObject), cancellationToken);
        using var gate = await _writes.Enter(cancellationToken);
        var current = await _writes.Whole(_writes.State); // a windowed turn meanwhile may have let go of the older items
        if (!current.Exists)
        {
            return PassOutcome.Done; // deleted meanwhile
        }

        var ids = current.Items.Select(item => item.Id).ToHashSet(StringComparer.Ordinal);
        if (!batch.TrueForAll(item => ids.Contains(item.Id)))
        {
            return PassOutcome.Failed("conversation_changed");
        }

        if (outcome is not FinalChunk { Result: { FinishReason: "stop" } final } || FactExtraction.Parse(final.Text) is not { } changes)
        {
            return PassOutcome.Failed((outcome as ErrorChunk)?.Error.Code ?? (outcome is FinalChunk { Result.FinishReason: "stop" } ? "unparseable_answer" : "incomplete_answer"));
        }

        var facts = FactExtraction.Merge(before.Facts, current.Facts, changes);
        if (await _writes.Persist(current.WithFacts(facts, batch[^1].CreatedAt) with { ExtractedThroughItemId = batch[^1].Id }) is not null)
        {
            return PassOutcome.Failed("storage_unavailable");
        }

        return _writes.State.Items[^1].Id == batch[^1].Id ? PassOutcome.Done : PassOutcome.More;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Extracting a conversation's facts failed ({Reason}); attempt {Attempt}, retrying later")]
    private partial void LogFailed(string reason, int attempt);

    private sealed record Job(string Model, Caller? Caller);
}
