namespace Conversations;

/// <summary>A model call as the gateway pipeline sees it: the full context plus sampling options.</summary>
[GenerateSerializer, Immutable, Alias("conv.CompletionRequest")]
public sealed record CompletionRequest(
    [property: Id(0)] string Model,
    [property: Id(1)] IReadOnlyList<NewItem> Messages,
    [property: Id(2)] float? Temperature = null,
    [property: Id(3)] int? MaxOutputTokens = null,
    [property: Id(4)] float? TopP = null,
    [property: Id(5)] string? EndUser = null);

/// <summary>
/// One element of a streamed model call: a text delta, or the final outcome (success or failure).
/// Exactly one of the three is set. The stream always ends with <see cref="Final"/> or <see cref="Error"/>.
/// </summary>
[GenerateSerializer, Immutable, Alias("conv.CompletionChunk")]
public sealed record CompletionChunk(
    [property: Id(0)] string? Delta = null,
    [property: Id(1)] CompletionResult? Final = null,
    [property: Id(2)] GatewayError? Error = null)
{
    public static CompletionChunk Text(string delta) => new(Delta: delta);
    public static CompletionChunk Done(CompletionResult result) => new(Final: result);
    public static CompletionChunk Failed(GatewayError error) => new(Error: error);
}

/// <summary>The outcome of a successful model call.</summary>
[GenerateSerializer, Immutable, Alias("conv.CompletionResult")]
public sealed record CompletionResult(
    [property: Id(0)] string Text,
    [property: Id(1)] string FinishReason,
    [property: Id(2)] TokenUsage Usage,
    [property: Id(3)] string Model,
    [property: Id(4)] ConversationItem? OutputItem = null);

/// <summary>
/// A failure that crosses a grain boundary as data rather than as an exception, so that the API
/// can map it to OpenAI's error shape with the right status code.
/// </summary>
[GenerateSerializer, Immutable, Alias("conv.GatewayError")]
public sealed record GatewayError(
    [property: Id(0)] int Status,
    [property: Id(1)] string Type,
    [property: Id(2)] string? Code,
    [property: Id(3)] string Message,
    [property: Id(4)] string? Param = null)
{
    public static GatewayError NotFound(string what, string id, string? param = null) =>
        new(404, "invalid_request_error", "not_found", $"No {what} found with id '{id}'.", param);

    public static GatewayError Invalid(string message, string? param = null, string? code = null) =>
        new(400, "invalid_request_error", code, message, param);

    public static GatewayError Conflict(string message, string? code = null) =>
        new(409, "invalid_request_error", code, message);

    public static GatewayError Upstream(int status, string message) =>
        new(status >= 500 || status == 0 ? 502 : status, status == 429 ? "rate_limit_error" : "upstream_error", "upstream_error", message);
}
