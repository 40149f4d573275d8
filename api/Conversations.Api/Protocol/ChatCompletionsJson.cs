using System.ComponentModel.DataAnnotations;
using System.Text.Json;

namespace Conversations.Api;

public sealed record ChatCompletionCreateJson(
    [property: Required] string? Model,
    [property: Required] List<ChatMessageJson?>? Messages,
    float? Temperature,
    float? TopP,
    int? MaxTokens,
    int? MaxCompletionTokens,
    int? N,
    bool? Stream,
    StreamOptionsJson? StreamOptions,
    string? User,
    JsonElement? Tools,
    JsonElement? ToolChoice = null,
    bool? ParallelToolCalls = null,
    JsonElement? ResponseFormat = null,
    PromptRefJson? Prompt = null,
    bool? Logprobs = null,
    int? TopLogprobs = null);

public sealed record ChatMessageJson(string? Role, JsonElement? Content, string? Name, List<ChatToolCallJson?>? ToolCalls = null, string? ToolCallId = null);

/// <summary>A function call in a chat message (<c>tool_calls[]</c>); <see cref="Index"/> is set only in stream deltas.</summary>
public sealed record ChatToolCallJson(string? Id, string? Type, ChatFunctionCallJson? Function, int? Index = null)
{
    public static ChatToolCallJson From(FunctionCall call, int? index = null) => new(call.CallId, "function", new ChatFunctionCallJson(call.Name, call.Arguments), index);
}

public sealed record ChatFunctionCallJson(string? Name, string? Arguments);

public sealed record StreamOptionsJson(bool? IncludeUsage);

public sealed record ChatCompletionJson(
    string Id,
    long Created,
    string Model,
    IReadOnlyList<ChatChoiceJson> Choices,
    ChatUsageJson Usage)
{
    public string Object => "chat.completion";
}

/// <remarks><c>logprobs</c> is written as <c>null</c> when none were asked for, as OpenAI's schema requires the field.</remarks>
public sealed record ChatChoiceJson(
    int Index,
    AssistantMessageJson Message,
    string FinishReason,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] ChatLogprobsJson? Logprobs = null);

public sealed record AssistantMessageJson(
    string Role,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] string? Content,
    IReadOnlyList<ChatToolCallJson>? ToolCalls = null)
{
    /// <summary>Always <c>null</c> (the gateway has no refusals of its own), written because OpenAI's schema requires the field.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)]
    public string? Refusal => null;

    /// <summary>The model's message: its text (<c>null</c> when it only called functions) and its calls.</summary>
    public static AssistantMessageJson From(CompletionResult result) => result.Calls.Count == 0
        ? new(Roles.Assistant, result.Text)
        : new(Roles.Assistant, result.Text.Length > 0 ? result.Text : null, [.. result.Calls.Select(call => ChatToolCallJson.From(call))]);
}

public sealed record ChatCompletionChunkJson(
    string Id,
    long Created,
    string Model,
    IReadOnlyList<ChatChunkChoiceJson> Choices,
    ChatUsageJson? Usage = null)
{
    public string Object => "chat.completion.chunk";
}

/// <remarks><c>finish_reason</c> is written as <c>null</c> on every chunk before the last, as OpenAI's schema requires.</remarks>
public sealed record ChatChunkChoiceJson(
    int Index,
    ChatDeltaJson Delta,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] string? FinishReason,
    ChatLogprobsJson? Logprobs = null);

public sealed record ChatDeltaJson(string? Role = null, string? Content = null, IReadOnlyList<ChatToolCallJson>? ToolCalls = null);

public sealed record ChatUsageJson(int PromptTokens, int CompletionTokens, int TotalTokens)
{
    public static ChatUsageJson From(TokenUsage usage) => new(usage.InputTokens, usage.OutputTokens, usage.TotalTokens);
}
