namespace Conversations;

/// <summary>A stored response, keyed <c>{tenant}/{responseId}</c>.</summary>
public interface IResponseGrain : IGrainWithStringKey
{
    /// <summary>Stores the response; a second save of the same id is refused (responses are immutable).</summary>
    Task<Result<StoredResponse>> Save(StoredResponse response);

    /// <summary>
    /// Replaces a background response that has not finished (<c>queued</c>, <c>in_progress</c>) with its next state; a
    /// finished one is refused (409), so a response reaches one terminal status only.
    /// </summary>
    Task<Result<StoredResponse>> Advance(StoredResponse response);

    Task<Result<StoredResponse>> Get();

    Task<Result<StoredResponse>> Delete();
}

/// <summary>What the Responses API keeps of a response, enough to return it and to chain from it.</summary>
[GenerateSerializer, Immutable, Alias("conv.StoredResponse")]
public sealed record StoredResponse(
    [property: Id(0)] string Id,
    [property: Id(1)] DateTimeOffset CreatedAt,
    [property: Id(2)] string Model,
    [property: Id(3)] string? Instructions,
    [property: Id(4)] IReadOnlyList<ConversationItem> Input,
    [property: Id(5)] IReadOnlyList<ConversationItem> Output,
    [property: Id(6)] TokenUsage Usage,
    [property: Id(7)] string? PreviousResponseId,
    [property: Id(8)] string? ConversationId,
    [property: Id(9)] IReadOnlyDictionary<string, string> Metadata,
    [property: Id(10)] float? Temperature,
    [property: Id(11)] int? MaxOutputTokens,
    [property: Id(12)] float? TopP,
    [property: Id(13)] string Status,
    [property: Id(14)] string? User,
    [property: Id(15)] IReadOnlyList<ToolDefinition>? Tools = null,
    [property: Id(16)] ToolChoice? ToolChoice = null,
    [property: Id(17)] bool? ParallelToolCalls = null,
    [property: Id(18)] OutputFormat? Format = null,
    [property: Id(19)] bool? Truncation = null,
    [property: Id(20)] string? IncompleteReason = null,
    [property: Id(21)] GatewayError? Error = null,
    [property: Id(22)] bool? Background = null)
{
    /// <summary>The metadata key that lists the knowledge chunks (<c>{kb}/{doc}#{n}</c>) the model was given.</summary>
    public const string CitationsKey = "citations";

    /// <summary>Whether the response is done: <c>completed</c>, <c>incomplete</c>, <c>failed</c> or <c>cancelled</c>.</summary>
    public bool IsFinished => Status is not ("queued" or "in_progress");

    /// <summary>
    /// This response finished by the model's <paramref name="result"/>: its output (a turn's stored items, or items made here),
    /// usage, <c>incomplete</c> with the reason when the answer was cut short (as OpenAI says), and the cited knowledge chunks
    /// as metadata (a string of at most 512 characters, as OpenAI's metadata allows).
    /// </summary>
    public StoredResponse Finish(CompletionResult result, CallInfo info, string outputItemId, DateTimeOffset now)
    {
        var output = result.OutputItems ?? OutputItems.Of(result, outputItemId, Id, now, _ => 0);
        var incomplete = result.FinishReason switch { "length" => "max_output_tokens", "content_filter" => "content_filter", _ => null };
        var metadata = Metadata;
        if (info.Citations is { Count: > 0 } citations)
        {
            var cited = string.Join(' ', citations);
            metadata = new Dictionary<string, string>(Metadata, StringComparer.Ordinal) { [CitationsKey] = cited.Length <= 512 ? cited : cited[..cited.LastIndexOf(' ', 512)] };
        }

        return this with
        {
            // A compaction made in line comes first: the caller's, or the one a conversation's turn made (its call info says).
            Output = [.. Output.Where(item => Ids.IsCompaction(item.Id)), .. info.Compaction is { } made ? [made] : Array.Empty<ConversationItem>(), .. output],
            Usage = result.Usage,
            Status = incomplete is null ? "completed" : "incomplete",
            Truncation = info.Truncation ?? Truncation, // a turn says its effective value; a stateless call keeps the request's
            IncompleteReason = incomplete,
            Metadata = metadata,
            Error = null,
        };
    }
}
