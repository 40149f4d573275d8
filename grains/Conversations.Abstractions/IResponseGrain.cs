namespace Conversations;

/// <summary>A stored response, keyed <c>{tenant}/{responseId}</c>.</summary>
public interface IResponseGrain : IGrainWithStringKey
{
    /// <summary>Stores the response; a second save of the same id is refused (responses are immutable).</summary>
    Task<Result<StoredResponse>> Save(StoredResponse response);

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
    [property: Id(20)] string? IncompleteReason = null);
