using System.Text.Json;
using System.Text.Json.Serialization;

namespace Conversations.Api;

/// <summary>
/// <c>POST /v1/messages</c> (and <c>/v1/messages/count_tokens</c>, which reads the same fields) in Anthropic's shape.
/// The fields that take more than one shape (<c>system</c>, a message's <c>content</c>, <c>tools</c>,
/// <c>tool_choice</c>) stay JSON until <see cref="AnthropicMessagesRequest"/> reads them, so each refusal can name its field.
/// </summary>
public sealed record MessageCreateJson(
    string? Model,
    int? MaxTokens,
    List<AnthropicMessageJson?>? Messages,
    JsonElement? System = null,
    List<string>? StopSequences = null,
    float? Temperature = null,
    float? TopP = null,
    int? TopK = null,
    bool? Stream = null,
    JsonElement? Tools = null,
    JsonElement? ToolChoice = null,
    MessageMetadataJson? Metadata = null,
    JsonElement? Thinking = null);

public sealed record AnthropicMessageJson(string? Role, JsonElement? Content);

public sealed record MessageMetadataJson(string? UserId);

/// <summary>A message the model wrote: its content blocks (text, then <c>tool_use</c>), why it stopped, and its usage.</summary>
public sealed record MessageJson(
    string Id,
    string Model,
    IReadOnlyList<ContentBlockJson> Content,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? StopReason,
    MessageUsageJson Usage)
{
    public string Type => "message";

    public string Role => Roles.Assistant;

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? StopSequence => null;
}

/// <summary>A content block: <c>text</c> (<see cref="Text"/>) or <c>tool_use</c> (<see cref="Id"/>, <see cref="Name"/>, <see cref="Input"/>).</summary>
public sealed record ContentBlockJson(string Type, string? Text = null, string? Id = null, string? Name = null, JsonElement? Input = null)
{
    public static ContentBlockJson TextBlock(string text) => new("text", Text: text);

    public static ContentBlockJson ToolUse(FunctionCall call, bool withInput = true) =>
        new("tool_use", Id: call.CallId, Name: call.Name, Input: withInput ? JsonElement.Parse(call.Arguments) : EmptyObject);

    private static readonly JsonElement EmptyObject = JsonElement.Parse("{}");
}

/// <remarks>The gateway caches nothing on Anthropic's terms, so the cache counts are always 0 (clients read them).</remarks>
public sealed record MessageUsageJson(int InputTokens, int OutputTokens)
{
    public int CacheCreationInputTokens => 0;

    public int CacheReadInputTokens => 0;

    public static MessageUsageJson From(TokenUsage usage) => new(usage.InputTokens, usage.OutputTokens);
}

public sealed record MessageTokensCountJson(int InputTokens);

/// <summary>The body of every error on the Anthropic endpoints: <c>{"type":"error","error":{"type","message"}}</c>.</summary>
public sealed record AnthropicErrorBody(AnthropicError Error)
{
    public string Type => "error";
}

public sealed record AnthropicError(string Type, string Message);

/// <summary>The events of a streamed message, in the order Anthropic sends them.</summary>
public static class MessageEvents
{
    public sealed record MessageStart(MessageJson Message)
    {
        public string Type => "message_start";
    }

    public sealed record ContentBlockStart(int Index, ContentBlockJson ContentBlock)
    {
        public string Type => "content_block_start";
    }

    public sealed record ContentBlockDelta(int Index, Delta Delta)
    {
        public string Type => "content_block_delta";
    }

    /// <summary><c>text_delta</c> (<see cref="Text"/>) or <c>input_json_delta</c> (<see cref="PartialJson"/>).</summary>
    public sealed record Delta(string Type, string? Text = null, string? PartialJson = null);

    public sealed record ContentBlockStop(int Index)
    {
        public string Type => "content_block_stop";
    }

    public sealed record MessageDelta(StopDelta Delta, MessageUsageJson Usage)
    {
        public string Type => "message_delta";
    }

    public sealed record StopDelta([property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? StopReason)
    {
        [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
        public string? StopSequence => null;
    }

    public sealed record Ping
    {
        public string Type => "ping";
    }

    public sealed record MessageStop
    {
        public string Type => "message_stop";
    }
}
