using System.Text.Json;

namespace Conversations.Api;

public sealed record ChatCompletionCreateJson(
    string? Model,
    List<ChatMessageJson?>? Messages,
    float? Temperature,
    float? TopP,
    int? MaxTokens,
    int? MaxCompletionTokens,
    int? N,
    bool? Stream,
    StreamOptionsJson? StreamOptions,
    string? User,
    JsonElement? Tools);

public sealed record ChatMessageJson(string? Role, JsonElement? Content, string? Name);

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

public sealed record ChatChoiceJson(int Index, AssistantMessageJson Message, string FinishReason)
{
    public object? Logprobs => null;
}

public sealed record AssistantMessageJson(string Role, string Content);

public sealed record ChatCompletionChunkJson(
    string Id,
    long Created,
    string Model,
    IReadOnlyList<ChatChunkChoiceJson> Choices,
    ChatUsageJson? Usage = null)
{
    public string Object => "chat.completion.chunk";
}

public sealed record ChatChunkChoiceJson(int Index, ChatDeltaJson Delta, string? FinishReason);

public sealed record ChatDeltaJson(string? Role = null, string? Content = null);

public sealed record ChatUsageJson(int PromptTokens, int CompletionTokens, int TotalTokens)
{
    public static ChatUsageJson From(TokenUsage usage) => new(usage.InputTokens, usage.OutputTokens, usage.TotalTokens);
}
