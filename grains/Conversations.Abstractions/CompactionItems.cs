namespace Conversations;

/// <summary>
/// A compaction item (<c>cmp_…</c>, decisions 0040 and 0063): a system item whose text is <see cref="Preamble"/> and a
/// readable summary, standing for the context before it.
/// </summary>
public static class CompactionItems
{
    /// <summary>What precedes the summary in the system message a compaction item becomes.</summary>
    public const string Preamble = "Summary of the conversation so far: ";

    /// <summary>A new compaction item holding <paramref name="summary"/>, made for <paramref name="responseId"/>.</summary>
    public static ConversationItem Of(string summary, int tokens, DateTimeOffset at, string responseId) =>
        new(Ids.New(Ids.Compaction), Roles.System, Preamble + summary, tokens, at, responseId);
}
