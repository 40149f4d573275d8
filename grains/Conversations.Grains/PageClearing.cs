using Conversations.Grains.Context;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains;

/// <summary>
/// Clears, in the background, the records of item pages a conversation lists as unreferenced (a delete cut short, a page
/// dropped while storage failed): by a head write, which proves this activation's view is current and clears what it
/// lists, then a second write that stores the list without them. What is left of a deleted conversation is removed.
/// </summary>
internal sealed partial class PageClearing
{
    private readonly IGrainBase _grain;
    private readonly ConversationWrites _writes;
    private readonly TimeSpan _afterWrite;
    private readonly ILogger _logger;
    private readonly BackgroundWork<object> _work;

    public PageClearing(IGrainBase grain, ConversationWrites writes, SummaryOptions options, ILogger logger)
    {
        (_grain, _writes, _afterWrite, _logger) = (grain, writes, options.SummaryRetryDelay, logger);
        _work = new(grain, (_, _) => Clear(), LogFailed, options);
    }

    /// <summary>Schedules a clearing if there is anything to clear: at once on activation, a while after a write.</summary>
    public void ScheduleIfNeeded(bool afterWrite = true)
    {
        if (_writes.State.Unreferenced.Count > 0)
        {
            _work.Schedule(this, afterWrite ? _afterWrite : TimeSpan.Zero);
        }
    }

    private async Task<PassOutcome> Clear()
    {
        using var gate = await _writes.Enter(CancellationToken.None);
        if (_writes.State.Unreferenced.Count == 0)
        {
            return PassOutcome.Done;
        }

        if (!_writes.State.Exists)
        {
            if (await _writes.Clear() is not null)
            {
                return PassOutcome.Failed("storage_unavailable");
            }

            _grain.DeactivateOnIdle(); // what was left of a deleted conversation is gone
            return PassOutcome.Done;
        }

        // The second write stores the list without what the first one's clearing removed.
        var failed = await _writes.Persist(_writes.State) is not null
            || (_writes.State.Unreferenced.Count == 0 && await _writes.Persist(_writes.State) is not null);
        return failed || _writes.State.Unreferenced.Count > 0 ? PassOutcome.Failed("pages_not_cleared") : PassOutcome.Done;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Clearing a conversation's unreferenced item pages failed ({Reason}); attempt {Attempt}, retrying later")]
    private partial void LogFailed(string reason, int attempt);
}
