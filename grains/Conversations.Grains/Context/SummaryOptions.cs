namespace Conversations.Grains.Context;

/// <summary>How rolling summaries are written, bound from <c>Conversations:Context</c>.</summary>
public sealed class SummaryOptions
{
    public const string Section = "Conversations:Context";

    /// <summary>The wait before the first retry of a failed summary; it doubles up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan SummaryRetryDelay { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The most transcript one summarizer call reads; a longer backlog is summarized in several calls.</summary>
    public int MaxTranscriptTokens { get; init; } = 6_000;
}
