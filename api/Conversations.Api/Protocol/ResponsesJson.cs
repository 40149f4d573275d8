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
    ContextPolicyJson? ContextPolicy = null,
    JsonElement? ToolChoice = null,
    bool? ParallelToolCalls = null,
    ResponseTextJson? Text = null,
    bool? Background = null,
    PromptRefJson? Prompt = null,
    JsonElement? ContextManagement = null,
    JsonElement? Include = null,
    int? TopLogprobs = null);

/// <summary>
/// A response request's <c>prompt</c>: a template of the tenant's library by id, a version (a number or a label; by default
/// the <c>production</c> label, else the latest) and the values of its variables.
/// </summary>
public sealed record PromptRefJson(string? Id, string? Version, Dictionary<string, JsonElement>? Variables);

/// <summary>The Responses API's <c>text</c> options: the answer's <c>format</c>.</summary>
public sealed record ResponseTextJson(JsonElement? Format);

/// <summary>The Responses API's response object; <c>instructions</c>, <c>error</c> and <c>incomplete_details</c> are written even when null, as OpenAI's schema requires.</summary>
public sealed record ResponseJson(
    string Id,
    long CreatedAt,
    string Status,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] string? Instructions,
    int? MaxOutputTokens,
    string Model,
    IReadOnlyList<ItemJson> Output,
    string? PreviousResponseId,
    bool Store,
    float Temperature,
    float TopP,
    ResponseUsageJson? Usage,
    string? User,
    IReadOnlyDictionary<string, string> Metadata,
    ConversationRefJson? Conversation,
    bool ParallelToolCalls,
    object ToolChoice,
    IReadOnlyList<FunctionToolJson> Tools,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] ResponseErrorJson? Error = null)
{
    public string Object => "response";

    /// <summary>What OpenAI calls <c>truncation</c>: <c>auto</c> when the context may leave older items out (a conversation turn's default here).</summary>
    public string Truncation => TruncationOn == true ? "auto" : "disabled";

    [System.Text.Json.Serialization.JsonIgnore]
    public bool? TruncationOn { get; init; }

    public object Text => new { format = OutputFormats.ToJson(Format) };

    /// <summary>The answer's format, echoed as <c>text.format</c>.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public OutputFormat? Format { get; init; }

    /// <summary>Why an <c>incomplete</c> response stopped (<c>max_output_tokens</c>, <c>content_filter</c>).</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)]
    public object? IncompleteDetails => Status == "incomplete" ? new { reason = IncompleteReason } : null;

    [System.Text.Json.Serialization.JsonIgnore]
    public string? IncompleteReason { get; init; }

    /// <summary>Whether the response runs in the background (<c>background: true</c>), polled and cancelled by its id.</summary>
    public bool Background { get; init; }

    /// <summary>This response with <paramref name="logprobs"/> in the <c>output_text</c> part of its message <paramref name="itemId"/>.</summary>
    public ResponseJson WithLogprobs(string itemId, IReadOnlyList<TokenLogprob>? logprobs) => logprobs is null ? this : this with
    {
        Output = [.. Output.Select(item => item is MessageItemJson message && message.Id == itemId ? message.WithLogprobs(logprobs) : item)],
    };

    /// <summary>The response as OpenAI shows it; <paramref name="status"/> overrides the stored one (in progress, failed).</summary>
    public static ResponseJson From(StoredResponse response, bool store, string? status = null, ResponseErrorJson? error = null) => new(
        response.Id,
        response.CreatedAt.ToUnixTimeSeconds(),
        status ?? response.Status,
        response.Instructions,
        response.MaxOutputTokens,
        response.Model,
        [.. response.Output.Select(ItemJson.From)],
        response.PreviousResponseId,
        store,
        response.Temperature ?? 1,
        response.TopP ?? 1,
        (status ?? response.Status) is "completed" or "incomplete" ? ResponseUsageJson.From(response.Usage) : null,
        response.User,
        response.Metadata,
        response.ConversationId is { } conversation ? new ConversationRefJson(conversation) : null,
        response.ParallelToolCalls ?? true,
        response.ToolChoice switch
        {
            { Function: { } function } => new { type = "function", name = function },
            { } choice => choice.Mode,
            null => Conversations.ToolChoice.Auto,
        },
        [.. (response.Tools ?? []).Select(FunctionToolJson.From)],
        error ?? (response.Error is { } failure ? ResponseErrorJson.From(failure) : null))
    {
        Background = response.Background == true,
        Format = response.Format,
        TruncationOn = response.Truncation,
        IncompleteReason = response.IncompleteReason,
    };
}

/// <summary>A function tool as the Responses API echoes it.</summary>
public sealed record FunctionToolJson(string Name, string? Description, JsonElement? Parameters, bool Strict)
{
    public string Type => "function";

    public static FunctionToolJson From(ToolDefinition tool) =>
        new(tool.Name, tool.Description, tool.Parameters is { } schema ? JsonElement.Parse(schema) : null, tool.Strict == true);
}

public sealed record ConversationRefJson(string Id);

/// <summary>The body of <c>POST /v1/responses/compact</c>.</summary>
public sealed record ResponseCompactJson(string? Model, JsonElement? Input, string? PreviousResponseId, string? Instructions);

/// <summary>The answer of <c>POST /v1/responses/compact</c>: the compaction item, and the summarizer call's usage.</summary>
public sealed record CompactionJson(string Id, long CreatedAt, IReadOnlyList<ItemJson> Output, ResponseUsageJson Usage)
{
    public string Object => "response.compaction";
}

/// <summary>
/// A compaction item. OpenAI encrypts its content; here <c>encrypted_content</c> holds the summary as readable text
/// (the gateway has no secret to keep from its own clients), sent back as a system message when the item is input again.
/// </summary>
public sealed record CompactionItemJson(string Id, string EncryptedContent) : ItemJson(Id, "completed")
{
    public const string Kind = "compaction";

    /// <summary>What precedes the summary in the system message a compaction item becomes.</summary>
    public const string Preamble = CompactionItems.Preamble;

    /// <summary>Whether a model call's item is a compaction item's system message (the context before it is what it summarizes).</summary>
    public static bool Is(NewItem item) => item.Role == Roles.System && item.Text.StartsWith(Preamble, StringComparison.Ordinal);

    /// <summary>A stored compaction item (<c>cmp_…</c>, its text the system message) as the API shows it.</summary>
    public static CompactionItemJson OfStored(ConversationItem item) =>
        new(item.Id, item.Text.StartsWith(Preamble, StringComparison.Ordinal) ? item.Text[Preamble.Length..] : item.Text);
}

/// <summary>The answer of <c>POST /v1/responses/input_tokens</c>.</summary>
public sealed record InputTokensJson(int InputTokens)
{
    public string Object => "response.input_tokens";
}

public sealed record ResponseErrorJson(string Code, string Message)
{
    /// <summary>
    /// A failure as a response's <c>error</c>, whose <c>code</c> OpenAI's schema limits to a fixed set: a rate limit or quota is
    /// <c>rate_limit_exceeded</c>, another refusal of the request <c>invalid_prompt</c>, anything else <c>server_error</c>; the
    /// message keeps the gateway's words.
    /// </summary>
    public static ResponseErrorJson From(GatewayError error) => new(
        error.Status switch { 429 => "rate_limit_exceeded", >= 400 and < 500 => "invalid_prompt", _ => "server_error" },
        error.Message);
}

public sealed record ResponseUsageJson(int InputTokens, int OutputTokens, int TotalTokens)
{
    public object InputTokensDetails => new { cached_tokens = 0, cache_write_tokens = 0 };

    public object OutputTokensDetails => new { reasoning_tokens = 0 };

    public static ResponseUsageJson From(TokenUsage usage) => new(usage.InputTokens, usage.OutputTokens, usage.TotalTokens);
}
