namespace Conversations.Grains.Context;

/// <summary>How a conversation's background work (summaries, fact extraction, indexing) runs and how much of its history an activation reads, bound from <c>Conversations:Context</c>.</summary>
public sealed class SummaryOptions
{
    public const string Section = "Conversations:Context";

    /// <summary>The wait before the first retry of a failed summary or extraction; it doubles up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan SummaryRetryDelay { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The most transcript one summarizer or extractor call reads; a longer backlog takes several calls.</summary>
    public int MaxTranscriptTokens { get; init; } = 6_000;

    /// <summary>
    /// The newest item pages (of <see cref="ConversationStore.PageSize"/> items) an activation reads at once; older pages are read
    /// when a call needs them (decision 0044). At least 1.
    /// </summary>
    public int ResidentPages { get; init; } = ConversationStore.DefaultResidentPages;
}
