using System.Text.Json;

namespace Conversations.Api;

public sealed record ResponseCreateJson(
    string? Model,
    JsonElement? Input,
    string? Instructions,
    JsonElement? Conversation,
    string? PreviousResponseId,
    bool? Store,
    Dictionary<string, string>? Metadata,
    int? MaxOutputTokens,
    float? Temperature,
    float? TopP,
    bool? Stream,
    string? User,
    JsonElement? Tools,
    string? Truncation = null,
    ContextPolicyJson? ContextPolicy = null);

/// <summary>The Responses API's response object.</summary>
public sealed record ResponseJson(
    string Id,
    long CreatedAt,
    string Status,
    string? Instructions,
    int? MaxOutputTokens,
    string Model,
    IReadOnlyList<MessageItemJson> Output,
    string? PreviousResponseId,
    bool Store,
    float Temperature,
    float TopP,
    ResponseUsageJson? Usage,
    string? User,
    IReadOnlyDictionary<string, string> Metadata,
    ConversationRefJson? Conversation,
    ResponseErrorJson? Error = null)
{
    public string Object => "response";

    public bool ParallelToolCalls => true;

    public string ToolChoice => "auto";

    public IReadOnlyList<object> Tools => [];

    public string Truncation => "disabled";

    public object Text => new { format = new { type = "text" } };

    public static ResponseJson From(StoredResponse response, bool store, string status = "completed", ResponseErrorJson? error = null) => new(
        response.Id,
        response.CreatedAt.ToUnixTimeSeconds(),
        status,
        response.Instructions,
        response.MaxOutputTokens,
        response.Model,
        [.. response.Output.Select(MessageItemJson.From)],
        response.PreviousResponseId,
        store,
        response.Temperature ?? 1,
        response.TopP ?? 1,
        status == "completed" ? ResponseUsageJson.From(response.Usage) : null,
        response.User,
        response.Metadata,
        response.ConversationId is { } conversation ? new ConversationRefJson(conversation) : null,
        error);
}

public sealed record ConversationRefJson(string Id);

public sealed record ResponseErrorJson(string Code, string Message);

public sealed record ResponseUsageJson(int InputTokens, int OutputTokens, int TotalTokens)
{
    public object InputTokensDetails => new { cached_tokens = 0 };

    public object OutputTokensDetails => new { reasoning_tokens = 0 };

    public static ResponseUsageJson From(TokenUsage usage) => new(usage.InputTokens, usage.OutputTokens, usage.TotalTokens);
}
