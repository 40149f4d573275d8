using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Conversations.Providers;

namespace Conversations.SimulatedUpstream;

/// <summary>
/// <c>POST /v1/messages</c> in Anthropic's wire format, backed by the same <see cref="SimulatedModel"/>
/// and <c>[sim:…]</c> directives as chat completions. It checks what Anthropic checks (<c>x-api-key</c>,
/// <c>anthropic-version</c>, <c>max_tokens</c>), streams the documented event sequence, and fails the
/// way Anthropic does: an error status before the first token in <c>{"type":"error","error":{…}}</c>,
/// a stream that just ends when cut, a dropped connection when reset.
/// </summary>
internal static class AnthropicMessagesEndpoint
{
    public const string Path = "/v1/messages";

    /// <summary>This endpoint authenticates with <c>x-api-key</c>, not the bearer token the OpenAI endpoints take.</summary>
    public static bool Handles(HttpContext context) => context.Request.Path.StartsWithSegments(Path, StringComparison.Ordinal);

    public static void Map(IEndpointRouteBuilder endpoints, SimulatedModel model, ServerFault fault, RecordedRequests recorded, string? requiredKey)
    {
        endpoints.MapPost(Path, async context =>
        {
            if (requiredKey is { Length: > 0 } && context.Request.Headers["x-api-key"] != requiredKey)
            {
                await Error(context, 401, "authentication_error", "invalid x-api-key");
                return;
            }

            if (string.IsNullOrEmpty(context.Request.Headers["anthropic-version"]))
            {
                await Error(context, 400, "invalid_request_error", "anthropic-version: header is required");
                return;
            }

            if (await Parse(context) is not { } request)
            {
                return;
            }

            recorded.Add(request.Body);
            var tools = (request.Body["tools"] as JsonArray)?.Select(t => t?["name"]?.GetValue<string>() ?? string.Empty).ToHashSet(StringComparer.Ordinal);
            var reply = model.Reply(request.Model, request.Messages, fault.Directives, tools, received: ReceivedParts.Of(request.Body["messages"] as JsonArray));
            if (request.Stream)
            {
                await Stream(context, model, reply, request);
            }
            else
            {
                await Complete(context, model, reply, request);
            }
        });
    }

    private sealed record MessagesRequest(JsonObject Body, string Model, IReadOnlyList<(string Role, string Text)> Messages, int MaxTokens, bool Stream);

    /// <summary>The request, or null once a 400 has been answered.</summary>
    private static async Task<MessagesRequest?> Parse(HttpContext context)
    {
        JsonNode? body;
        try
        {
            body = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        }
        catch (JsonException)
        {
            body = null;
        }

        if (body is not JsonObject request)
        {
            await Error(context, 400, "invalid_request_error", "The request body is not a JSON object.");
            return null;
        }

        var problem = request["messages"] is not JsonArray ? "messages: Field required"
            : request["max_tokens"] is not JsonValue maxTokens || !maxTokens.TryGetValue<int>(out _) ? "max_tokens: Field required"
            : null;
        if (problem is not null)
        {
            await Error(context, 400, "invalid_request_error", problem);
            return null;
        }

        var messages = new List<(string Role, string Text)>();
        // The system prompt counts towards the prompt, as it does upstream; it is a top-level string or a list of text blocks.
        if (SimulatedUpstreamApp.Text(request["system"]) is { Length: > 0 } system)
        {
            messages.Add(("system", system));
        }

        messages.AddRange(request["messages"]!.AsArray().SelectMany(Read));
        return new MessagesRequest(
            request,
            request["model"]?.GetValue<string>() ?? "sim-upstream",
            messages,
            request["max_tokens"]!.GetValue<int>(),
            request["stream"]?.GetValue<bool>() == true);
    }

    /// <summary>A message as the simulated model reads it: its text, the tools an assistant called, and each tool result as a "tool" message.</summary>
    private static IEnumerable<(string Role, string Text)> Read(JsonNode? message)
    {
        var role = message?["role"]?.GetValue<string>() ?? "user";
        if (message?["content"] is not JsonArray blocks)
        {
            yield return (role, SimulatedUpstreamApp.Text(message?["content"]));
            yield break;
        }

        foreach (var result in blocks.Where(b => b?["type"]?.GetValue<string>() == "tool_result"))
        {
            yield return ("tool", SimulatedUpstreamApp.Text(result?["content"]));
        }

        var text = SimulatedUpstreamApp.Text(new JsonArray([.. blocks.Where(b => b?["type"]?.GetValue<string>() == "text").Select(b => b?.DeepClone())]))
            + string.Concat(blocks.Where(b => b?["type"]?.GetValue<string>() == "tool_use").Select(b => $"{b?["name"]}({b?["input"]?.ToJsonString()})"));
        if (text.Length > 0 || role == "assistant")
        {
            yield return (role, text);
        }
    }

    private static JsonObject ToolUse((string Name, string Arguments) call, int index, bool withInput) => new()
    {
        ["type"] = "tool_use",
        ["id"] = $"toolu_{index}_{Guid.NewGuid():N}"[..24],
        ["name"] = call.Name,
        ["input"] = withInput ? JsonNode.Parse(call.Arguments) : new JsonObject(),
    };

    private static async Task Complete(HttpContext context, SimulatedModel model, SimulatedReply reply, MessagesRequest request)
    {
        var text = new StringBuilder();
        var sent = 0;
        var stopReason = "end_turn";
        try
        {
            await foreach (var piece in model.Stream(reply, context.RequestAborted))
            {
                if (sent == request.MaxTokens)
                {
                    stopReason = "max_tokens";
                    break;
                }

                text.Append(piece);
                sent++;
            }
        }
        catch (ProviderException exception)
        {
            await Error(context, reply, exception);
            return;
        }

        var message = Message(request.Model, reply.PromptTokens, reply.Calls.Count > 0 ? reply.CompletionTokens : sent, reply.Calls.Count > 0 ? "tool_use" : stopReason);
        message["content"] = reply.Calls.Count > 0
            ? new JsonArray([.. reply.Calls.Select((call, index) => (JsonNode)ToolUse(call, index, withInput: true))])
            : new JsonArray(new JsonObject { ["type"] = "text", ["text"] = text.ToString() });
        await context.Response.WriteAsJsonAsync(message);
    }

    private static async Task Stream(HttpContext context, SimulatedModel model, SimulatedReply reply, MessagesRequest request)
    {
        var message = Message(request.Model, reply.PromptTokens, outputTokens: 1, stopReason: null);
        var started = false;
        var sent = 0;
        var stopReason = "end_turn";
        await using var pieces = model.Stream(reply, context.RequestAborted).GetAsyncEnumerator(context.RequestAborted);
        try
        {
            while (await pieces.MoveNextAsync())
            {
                if (sent == request.MaxTokens)
                {
                    stopReason = "max_tokens";
                    break;
                }

                if (!started)
                {
                    // Opened at the first token, so a failure before it is still an HTTP error status.
                    await Start(context, message);
                    started = true;
                }

                sent++;
                await Event(context, "content_block_delta", new JsonObject
                {
                    ["type"] = "content_block_delta",
                    ["index"] = 0,
                    ["delta"] = new JsonObject { ["type"] = "text_delta", ["text"] = pieces.Current },
                });
            }
        }
        catch (ProviderException exception)
        {
            if (!started)
            {
                await Error(context, reply, exception);
            }
            else if (exception.ConnectionReset)
            {
                context.Abort();
            }

            // Otherwise the stream just ends: no content_block_stop, message_delta nor message_stop.
            return;
        }

        if (reply.Calls.Count > 0)
        {
            // Each call is a tool_use block whose input arrives as JSON fragments.
            SimulatedUpstreamApp.StartEventStream(context);
            await Event(context, "message_start", new JsonObject { ["type"] = "message_start", ["message"] = message });
            for (var i = 0; i < reply.Calls.Count; i++)
            {
                var input = reply.Calls[i].Arguments;
                await Event(context, "content_block_start", new JsonObject { ["type"] = "content_block_start", ["index"] = i, ["content_block"] = ToolUse(reply.Calls[i], i, withInput: false) });
                foreach (var part in new[] { input[..(input.Length / 2)], input[(input.Length / 2)..] })
                {
                    await Event(context, "content_block_delta", new JsonObject
                    {
                        ["type"] = "content_block_delta",
                        ["index"] = i,
                        ["delta"] = new JsonObject { ["type"] = "input_json_delta", ["partial_json"] = part },
                    });
                }

                await Event(context, "content_block_stop", new JsonObject { ["type"] = "content_block_stop", ["index"] = i });
            }

            stopReason = "tool_use";
            sent = reply.CompletionTokens;
        }
        else
        {
            if (!started)
            {
                await Start(context, message);
            }

            await Event(context, "content_block_stop", new JsonObject { ["type"] = "content_block_stop", ["index"] = 0 });
        }

        await Event(context, "message_delta", new JsonObject
        {
            ["type"] = "message_delta",
            ["delta"] = new JsonObject { ["stop_reason"] = stopReason, ["stop_sequence"] = null },
            // The whole output so far, not an increment (message_start already said 1).
            ["usage"] = new JsonObject { ["output_tokens"] = sent },
        });
        await Event(context, "message_stop", new JsonObject { ["type"] = "message_stop" });
    }

    private static async Task Start(HttpContext context, JsonObject message)
    {
        SimulatedUpstreamApp.StartEventStream(context);
        await Event(context, "message_start", new JsonObject { ["type"] = "message_start", ["message"] = message });
        await Event(context, "content_block_start", new JsonObject
        {
            ["type"] = "content_block_start",
            ["index"] = 0,
            ["content_block"] = new JsonObject { ["type"] = "text", ["text"] = string.Empty },
        });
        await Event(context, "ping", new JsonObject { ["type"] = "ping" });
    }

    private static JsonObject Message(string model, int inputTokens, int outputTokens, string? stopReason) => new()
    {
        ["id"] = "msg_" + Guid.NewGuid().ToString("N"),
        ["type"] = "message",
        ["role"] = "assistant",
        ["model"] = model,
        ["content"] = new JsonArray(),
        ["stop_reason"] = stopReason,
        ["stop_sequence"] = null,
        ["usage"] = new JsonObject { ["input_tokens"] = inputTokens, ["output_tokens"] = outputTokens },
    };

    private static async Task Event(HttpContext context, string name, JsonObject data)
    {
        await context.Response.WriteAsync($"event: {name}\ndata: {data.ToJsonString()}\n\n");
        await context.Response.Body.FlushAsync();
    }

    private static Task Error(HttpContext context, SimulatedReply reply, ProviderException exception)
    {
        if (exception.Code == ProviderException.ContextLengthExceeded && reply.Directives.ContextOverflow is { } overflow)
        {
            return Error(context, 400, "invalid_request_error", $"prompt is too long: {overflow.Prompt} tokens > {overflow.Window} maximum");
        }

        SimulatedUpstreamApp.SetRetryAfter(context, exception);
        return Error(context, exception.Status, ErrorType(exception.Status), exception.Message);
    }

    private static Task Error(HttpContext context, int status, string type, string message)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new JsonObject
        {
            ["type"] = "error",
            ["error"] = new JsonObject { ["type"] = type, ["message"] = message },
            ["request_id"] = "req_" + Guid.NewGuid().ToString("N"),
        });
    }

    /// <summary>
    /// Anthropic's error type for a status. Kept apart from the client's reverse table on purpose: this
    /// server is the client's independent check.
    /// </summary>
    private static string ErrorType(int status) => status switch
    {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        >= 500 => "api_error",
        _ => "invalid_request_error",
    };
}
