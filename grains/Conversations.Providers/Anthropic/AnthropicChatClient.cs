using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Conversations.Providers.Anthropic;

/// <summary>
/// Anthropic's Messages API (<c>POST {baseUrl}/messages</c>) as an <see cref="IChatClient"/>, for text
/// conversations with function tools (<c>tool_use</c> and <c>tool_result</c> blocks). System messages become the top-level <c>system</c> string and consecutive turns of one
/// role are merged, because the API takes no system role and requires user and assistant to alternate.
/// An error status, or an <c>error</c> event inside a stream, throws <see cref="ProviderException"/>; a
/// stream that ends before <c>message_stop</c> yields no finish reason, so the caller can tell it was cut.
/// </summary>
public sealed class AnthropicChatClient : IChatClient
{
    /// <summary>The <c>anthropic-version</c> this client speaks.</summary>
    public const string ApiVersion = "2023-06-01";

    private const string Redacted = "[redacted]";

    private readonly HttpClient _http;
    private readonly Uri _endpoint;
    private readonly string _apiKey;
    private readonly string _model;
    private readonly int _defaultMaxTokens;
    private readonly ChatClientMetadata _metadata;

    /// <param name="http">A shared client; not disposed by this one.</param>
    /// <param name="baseUrl">The API root including <c>/v1</c>, e.g. <c>https://api.anthropic.com/v1</c>.</param>
    /// <param name="apiKey">Sent as <c>x-api-key</c>; never logged nor put into an exception.</param>
    /// <param name="model">The model to call unless <see cref="ChatOptions.ModelId"/> names another.</param>
    /// <param name="defaultMaxTokens">The <c>max_tokens</c> Anthropic requires, when a call sets no <see cref="ChatOptions.MaxOutputTokens"/>.</param>
    public AnthropicChatClient(HttpClient http, Uri baseUrl, string apiKey, string model, int defaultMaxTokens)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(baseUrl);
        ArgumentException.ThrowIfNullOrEmpty(apiKey);
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(defaultMaxTokens);
        if (!baseUrl.IsAbsoluteUri)
        {
            throw new ArgumentException("The base URL must be absolute.", nameof(baseUrl));
        }

        _http = http;
        // new Uri(base, "messages") would drop the last segment of a base without a trailing slash (/v1).
        _endpoint = new Uri(baseUrl.AbsoluteUri.TrimEnd('/') + "/messages");
        _apiKey = apiKey;
        _model = model;
        _defaultMaxTokens = defaultMaxTokens;
        _metadata = new ChatClientMetadata("anthropic", baseUrl, model);
    }

    public async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        using var request = Request(messages, options, stream: false);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        await ThrowIfFailed(response, cancellationToken);

        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var document = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken);
        var message = document.RootElement;
        var contents = new List<AIContent>();
        foreach (var block in message.GetProperty("content").EnumerateArray())
        {
            if (block.GetProperty("type").ValueEquals("text"))
            {
                contents.Add(new TextContent(block.GetProperty("text").GetString()));
            }
            else if (block.GetProperty("type").ValueEquals("tool_use"))
            {
                contents.Add(Call(block.GetProperty("id").GetString()!, block.GetProperty("name").GetString()!, block.GetProperty("input").GetRawText()));
            }
        }

        var id = message.GetProperty("id").GetString();
        var usage = new AnthropicUsage();
        usage.Update(message.GetProperty("usage"));

        return new ChatResponse(new ChatMessage(ChatRole.Assistant, contents) { MessageId = id })
        {
            ResponseId = id,
            ModelId = message.GetProperty("model").GetString(),
            FinishReason = FinishReasonOf(StringOrNull(message, "stop_reason")),
            Usage = usage.ToDetails(),
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var request = Request(messages, options, stream: true);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        await ThrowIfFailed(response, cancellationToken);

        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        string? id = null, model = null, stopReason = null;
        var usage = new AnthropicUsage();
        var calls = new SortedDictionary<int, (string Id, string Name, System.Text.StringBuilder Input)>(); // by block index, until the message ends
        await foreach (var item in SseParser.Create(body).EnumerateAsync(cancellationToken))
        {
            if (string.IsNullOrWhiteSpace(item.Data))
            {
                continue;
            }

            using var document = JsonDocument.Parse(item.Data);
            var data = document.RootElement;
            switch (StringOrNull(data, "type") ?? item.EventType)
            {
                case "message_start":
                    var message = data.GetProperty("message");
                    id = message.GetProperty("id").GetString();
                    model = message.GetProperty("model").GetString();
                    usage.Update(message.GetProperty("usage"));
                    break;

                case "content_block_start" when data.GetProperty("content_block") is var block && block.GetProperty("type").ValueEquals("tool_use"):
                    calls[data.GetProperty("index").GetInt32()] = (block.GetProperty("id").GetString()!, block.GetProperty("name").GetString()!, new());
                    yield return new ChatResponseUpdate(ChatRole.Assistant, (string?)null) { RawRepresentation = ChatMessages.CallsStarted, ResponseId = id, ModelId = model };
                    break;

                case "content_block_delta" when data.GetProperty("delta") is var inputDelta && inputDelta.GetProperty("type").ValueEquals("input_json_delta"):
                    calls[data.GetProperty("index").GetInt32()].Input.Append(inputDelta.GetProperty("partial_json").GetString());
                    break;

                case "content_block_delta":
                    var delta = data.GetProperty("delta");
                    if (delta.GetProperty("type").ValueEquals("text_delta"))
                    {
                        yield return new ChatResponseUpdate(ChatRole.Assistant, delta.GetProperty("text").GetString())
                        {
                            ResponseId = id,
                            MessageId = id,
                            ModelId = model,
                        };
                    }

                    break;

                case "message_delta":
                    stopReason = StringOrNull(data.GetProperty("delta"), "stop_reason") ?? stopReason;
                    if (data.TryGetProperty("usage", out var deltaUsage))
                    {
                        usage.Update(deltaUsage);
                    }

                    break;

                case "message_stop":
                    // Only here is the answer complete; a stream that ends before this carries no finish reason. Calls are handed over whole.
                    yield return new ChatResponseUpdate(
                        ChatRole.Assistant, [.. calls.Values.Select(c => Call(c.Id, c.Name, c.Input.Length > 0 ? c.Input.ToString() : "{}")), new UsageContent(usage.ToDetails())])
                    {
                        ResponseId = id,
                        MessageId = id,
                        ModelId = model,
                        FinishReason = FinishReasonOf(stopReason) ?? ChatFinishReason.Stop,
                    };
                    yield break;

                case "error":
                    var (type, errorMessage) = ErrorOf(data);
                    throw Failure(StatusOf(type), errorMessage ?? $"Anthropic reported {type ?? "an error"} mid-stream.", retryAfter: null);

                default:
                    // ping, content_block_start, content_block_stop and event types added later carry nothing to translate.
                    break;
            }
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(ChatClientMetadata) ? _metadata
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    public void Dispose()
    {
        // The HttpClient is shared and owned by whoever passed it in.
    }

    private HttpRequestMessage Request(IEnumerable<ChatMessage> messages, ChatOptions? options, bool stream)
    {
        var content = new ByteArrayContent(AnthropicRequestBody.Write(messages, options, stream, _model, _defaultMaxTokens));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, _endpoint) { Content = content };
        request.Headers.Add("x-api-key", _apiKey);
        request.Headers.Add("anthropic-version", ApiVersion);
        if (stream)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        }

        return request;
    }

    private async Task ThrowIfFailed(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var status = (int)response.StatusCode;
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        string? message = null;
        try
        {
            using var document = JsonDocument.Parse(body);
            (_, message) = ErrorOf(document.RootElement);
        }
        catch (JsonException)
        {
            // Not Anthropic's error shape (a proxy's HTML page, say): the status alone says what happened.
        }

        throw Failure(status, message ?? $"Anthropic answered {status} {response.ReasonPhrase}.", RetryAfterOf(response.Headers.RetryAfter));
    }

    private ProviderException Failure(int status, string message, TimeSpan? retryAfter) =>
        new(status, message.Replace(_apiKey, Redacted, StringComparison.Ordinal))
        {
            RetryAfter = retryAfter,
            // Anthropic's way of saying what OpenAI calls context_length_exceeded, which routing acts on.
            Code = status == 400 && message.StartsWith("prompt is too long", StringComparison.Ordinal) ? ProviderException.ContextLengthExceeded : null,
        };

    private static (string? Type, string? Message) ErrorOf(JsonElement body) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object
            ? (StringOrNull(error, "type"), StringOrNull(error, "message"))
            : (null, null);

    /// <summary>The HTTP status an error type stands for, for errors that arrive inside a 200 stream.</summary>
    private static int StatusOf(string? errorType) => errorType switch
    {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "overloaded_error" => 529,
        _ => 500, // api_error, and types added later: a failure on Anthropic's side.
    };

    /// <summary>A tool_use block as a call; input that is not JSON (a call cut short) is marked so, never passed as <c>{}</c>.</summary>
    private static FunctionCallContent Call(string id, string name, string input)
    {
        try
        {
            using var parsed = JsonDocument.Parse(input);
            return new FunctionCallContent(id, name, ChatMessages.Arguments(input));
        }
        catch (JsonException exception)
        {
            return new FunctionCallContent(id, name) { Exception = exception };
        }
    }

    private static ChatFinishReason? FinishReasonOf(string? stopReason) => stopReason switch
    {
        null => null,
        "end_turn" or "stop_sequence" => ChatFinishReason.Stop,
        "max_tokens" => ChatFinishReason.Length,
        "tool_use" => ChatFinishReason.ToolCalls,
        "refusal" => ChatFinishReason.ContentFilter,
        _ => new ChatFinishReason(stopReason),
    };

    private static TimeSpan? RetryAfterOf(RetryConditionHeaderValue? header) =>
        header?.Delta ?? (header?.Date is { } date ? TimeSpan.FromTicks(Math.Max(0, (date - DateTimeOffset.UtcNow).Ticks)) : null);

    private static string? StringOrNull(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
