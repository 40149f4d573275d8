using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Conversations.Providers;
using Conversations.Routing;

namespace Conversations.SimulatedUpstream;

/// <summary>
/// An OpenAI-compatible server backed by <see cref="SimulatedModel"/>: chat completions (plain and
/// streamed, with usage), embeddings and models; plus Anthropic's Messages API in
/// <see cref="AnthropicMessagesEndpoint"/>. Faults come from the same <c>[sim:…]</c> directives (and <c>[sim:hold]</c>,
/// see <see cref="ServerFault"/>, and <c>[sim:redirect]</c>, a 307 back to itself); <c>response_format</c> <c>json_object</c> or <c>json_schema</c> selects the model's JSON mode;
/// a stream cut mid-way aborts the connection, as a failing upstream would. The last requests it
/// received are listed at <c>GET /sim/requests</c> (<c>?last=N</c>: the newest N), so tests can see exactly what context was sent.
/// </summary>
public static class SimulatedUpstreamApp
{
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
        {
            builder.WebHost.UseUrls("http://127.0.0.1:8090");
        }

        var simulation = builder.Configuration.GetSection("Simulation").Get<SimulationOptions>() ?? new SimulationOptions();
        var requiredKey = builder.Configuration["Simulation:ApiKey"];
        var model = new SimulatedModel(TokenCounter.Shared, simulation);
        var recorded = new RecordedRequests();
        var fault = new ServerFault(builder.Configuration["Simulation:Fault"]);

        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            // The Anthropic endpoint checks its own header (x-api-key) and answers in its own error shape.
            if (requiredKey is { Length: > 0 } && !AnthropicMessagesEndpoint.Handles(context)
                && context.Request.Headers.Authorization != $"Bearer {requiredKey}")
            {
                await Error(context, 401, "Incorrect API key provided.", "invalid_api_key");
                return;
            }

            await next(context);
        });

        app.MapGet("/v1/models", () => Results.Json(new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray(new JsonObject { ["id"] = "sim-upstream", ["object"] = "model", ["created"] = 0, ["owned_by"] = "simulated" }),
        }));
        app.MapGet("/sim/requests", (int? last) => Results.Json(recorded.Snapshot(last)));
        app.MapPut("/sim/fault", async context =>
        {
            // Directives applied to every request from now on (empty clears), so one upstream of several can fail.
            using var reader = new StreamReader(context.Request.Body);
            fault.Directives = await reader.ReadToEndAsync(context.RequestAborted);
            context.Response.StatusCode = 204;
        });
        app.MapPost("/v1/chat/completions", async context =>
        {
            var body = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            if (body is not JsonObject request || request["messages"] is not JsonArray messages)
            {
                await Error(context, 400, "Missing required parameter: 'messages'.", "missing_required_parameter");
                return;
            }

            recorded.Add(request);
            await fault.Hold(context.RequestAborted);
            if (messages.Any(m => MessageText(m).Contains(RedirectDirective, StringComparison.Ordinal)))
            {
                context.Response.Redirect(context.Request.Path, permanent: false, preserveMethod: true); // 307 to itself
                return;
            }

            var modelName = request["model"]?.GetValue<string>() ?? "sim-upstream";
            var tools = (request["tools"] as JsonArray)?.Select(t => t?["function"]?["name"]?.GetValue<string>() ?? string.Empty).ToHashSet(StringComparer.Ordinal);
            var json = (request["response_format"] as JsonObject)?["type"]?.GetValue<string>() is "json_object" or "json_schema";
            var reply = model.Reply(modelName, [.. messages.Select(m => (m?["role"]?.GetValue<string>() ?? "user", MessageText(m)))], fault.Directives, tools, json, ReceivedParts.Of(messages));
            var maxTokens = reply.Limit(request["max_completion_tokens"]?.GetValue<int>() ?? request["max_tokens"]?.GetValue<int>());
            int? top = request["logprobs"]?.GetValue<bool>() == true ? request["top_logprobs"]?.GetValue<int>() ?? 0 : null;
            if (request["stream"]?.GetValue<bool>() == true)
            {
                await Stream(context, model, reply, modelName, maxTokens, request["stream_options"]?["include_usage"]?.GetValue<bool>() == true, top);
            }
            else
            {
                await Complete(context, model, reply, modelName, maxTokens, top);
            }
        });
        AnthropicMessagesEndpoint.Map(app, model, fault, recorded, requiredKey);
        app.MapPost("/v1/embeddings", async context =>
        {
            var request = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            var inputs = request?["input"] switch
            {
                JsonArray array => array.Select(i => i?.GetValue<string>() ?? string.Empty).ToList(),
                JsonValue value => [value.GetValue<string>()],
                _ => [],
            };
            var dimensions = request?["dimensions"]?.GetValue<int>() ?? 384;
            await context.Response.WriteAsJsonAsync(new JsonObject
            {
                ["object"] = "list",
                ["model"] = request?["model"]?.GetValue<string>(),
                ["data"] = new JsonArray([.. inputs.Select((text, index) => (JsonNode)new JsonObject
                {
                    ["object"] = "embedding",
                    ["index"] = index,
                    ["embedding"] = new JsonArray([.. Embed(text, dimensions).Select(v => (JsonNode)JsonValue.Create(v))]),
                })]),
                ["usage"] = new JsonObject
                {
                    ["prompt_tokens"] = inputs.Sum(TokenCounter.Shared.Count),
                    ["total_tokens"] = inputs.Sum(TokenCounter.Shared.Count),
                },
            });
        });
        return app;
    }

    private static async Task Complete(HttpContext context, SimulatedModel model, SimulatedReply reply, string modelName, int? maxTokens, int? top)
    {
        var text = new StringBuilder();
        var tokens = new List<string>();
        var sent = 0;
        try
        {
            await foreach (var piece in model.Stream(reply, context.RequestAborted))
            {
                if (sent == maxTokens)
                {
                    break;
                }

                text.Append(piece);
                tokens.Add(piece);
                sent++;
            }
        }
        catch (ProviderException exception)
        {
            await Error(context, exception);
            return;
        }

        await context.Response.WriteAsJsonAsync(new JsonObject
        {
            ["id"] = "chatcmpl-" + Guid.NewGuid().ToString("N"),
            ["object"] = "chat.completion",
            ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["model"] = modelName,
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = reply.Calls.Count > 0
                    ? new JsonObject { ["role"] = "assistant", ["content"] = null, ["tool_calls"] = ToolCalls(reply, withIndex: false) }
                    : new JsonObject { ["role"] = "assistant", ["content"] = text.ToString() },
                ["finish_reason"] = reply.Calls.Count > 0 ? "tool_calls" : sent == maxTokens ? "length" : "stop",
                ["logprobs"] = top is { } count ? LogprobsJson(tokens, count) : null,
            }),
            ["usage"] = Usage(reply.PromptTokens, reply.Calls.Count > 0 ? reply.CompletionTokens : sent),
        });
    }

    private static async Task Stream(HttpContext context, SimulatedModel model, SimulatedReply reply, string modelName, int? maxTokens, bool includeUsage, int? top)
    {
        var id = "chatcmpl-" + Guid.NewGuid().ToString("N");
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var sent = 0;
        var finish = "stop";
        await using var pieces = model.Stream(reply, context.RequestAborted).GetAsyncEnumerator(context.RequestAborted);
        try
        {
            while (await pieces.MoveNextAsync())
            {
                if (sent == maxTokens)
                {
                    finish = "length";
                    break;
                }

                if (sent == 0)
                {
                    StartEventStream(context);
                    await Event(context, Chunk(id, created, modelName, new JsonObject { ["role"] = "assistant", ["content"] = string.Empty }, null));
                }

                sent++;
                var chunk = Chunk(id, created, modelName, new JsonObject { ["content"] = pieces.Current }, null);
                if (top is { } count)
                {
                    chunk["choices"]![0]!["logprobs"] = LogprobsJson([pieces.Current], count);
                }

                await Event(context, chunk);
            }
        }
        catch (ProviderException exception)
        {
            if (!context.Response.HasStarted)
            {
                await Error(context, exception);
            }
            else if (exception.ConnectionReset)
            {
                context.Abort(); // The connection drops mid-stream.
            }

            // Otherwise the stream just ends: no finish_reason, no usage, no [DONE].

            return;
        }

        StartEventStream(context);
        if (reply.Calls.Count > 0)
        {
            // As OpenAI streams calls: the id and name first, then the arguments in pieces.
            await Event(context, Chunk(id, created, modelName, new JsonObject { ["role"] = "assistant", ["content"] = null, ["tool_calls"] = ToolCalls(reply, withIndex: true, arguments: false) }, null));
            for (var i = 0; i < reply.Calls.Count; i++)
            {
                var arguments = reply.Calls[i].Arguments;
                foreach (var piece in new[] { arguments[..(arguments.Length / 2)], arguments[(arguments.Length / 2)..] })
                {
                    var delta = new JsonObject { ["index"] = i, ["function"] = new JsonObject { ["arguments"] = piece } };
                    await Event(context, Chunk(id, created, modelName, new JsonObject { ["tool_calls"] = new JsonArray(delta) }, null));
                }
            }

            finish = "tool_calls";
            sent = reply.CompletionTokens;
        }

        await Event(context, Chunk(id, created, modelName, new JsonObject(), finish));
        if (includeUsage)
        {
            var usage = Chunk(id, created, modelName, null, null);
            usage["usage"] = Usage(reply.PromptTokens, sent);
            await Event(context, usage);
        }

        await context.Response.WriteAsync("data: [DONE]\n\n");
    }

    internal static void StartEventStream(HttpContext context)
    {
        if (!context.Response.HasStarted)
        {
            context.Response.ContentType = "text/event-stream";
        }
    }

    private static JsonObject Chunk(string id, long created, string model, JsonObject? delta, string? finishReason) => new()
    {
        ["id"] = id,
        ["object"] = "chat.completion.chunk",
        ["created"] = created,
        ["model"] = model,
        ["choices"] = delta is null
            ? new JsonArray()
            : new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finishReason }),
    };

    /// <summary>A choice's <c>logprobs</c>: the simulated model's for each token, with <paramref name="top"/> alternatives.</summary>
    private static JsonObject LogprobsJson(IEnumerable<string> tokens, int top) => new()
    {
        ["content"] = new JsonArray([.. tokens.Select(token => (JsonNode)TokenJson(Logprobs.Simulated(token, top)))]),
        ["refusal"] = null,
    };

    private static JsonObject TokenJson(Conversations.TokenLogprob token)
    {
        var json = new JsonObject
        {
            ["token"] = token.Token,
            ["logprob"] = token.Logprob,
            ["bytes"] = new JsonArray([.. (token.Bytes ?? []).Select(b => (JsonNode)JsonValue.Create((int)b))]),
        };
        if (token.Top is { } alternatives)
        {
            json["top_logprobs"] = new JsonArray([.. alternatives.Select(a => (JsonNode)TokenJson(a))]);
        }

        return json;
    }

    private static JsonObject Usage(int prompt, int completion) => new()
    {
        ["prompt_tokens"] = prompt,
        ["completion_tokens"] = completion,
        ["total_tokens"] = prompt + completion,
    };

    private static async Task Event(HttpContext context, JsonObject payload)
    {
        await context.Response.WriteAsync($"data: {payload.ToJsonString()}\n\n");
        await context.Response.Body.FlushAsync();
    }

    /// <summary>In a message, <c>[sim:redirect]</c> answers 307 pointing back at the same endpoint (a gateway must not follow it).</summary>
    private const string RedirectDirective = "[sim:redirect]";

    private static Task Error(HttpContext context, ProviderException exception)
    {
        SetRetryAfter(context, exception);
        return Error(context, exception.Status, exception.Message, exception.Code ?? "simulated_failure");
    }

    private static Task Error(HttpContext context, int status, string message, string code)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new JsonObject
        {
            ["error"] = new JsonObject { ["message"] = message, ["type"] = status >= 500 ? "server_error" : "invalid_request_error", ["param"] = null, ["code"] = code },
        });
    }

    internal static void SetRetryAfter(HttpContext context, ProviderException exception)
    {
        if (exception.RetryAfter is { } retryAfter)
        {
            context.Response.Headers.RetryAfter = ((int)retryAfter.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    private static JsonArray ToolCalls(SimulatedReply reply, bool withIndex, bool arguments = true) => new([.. reply.Calls.Select((call, index) =>
    {
        var json = new JsonObject
        {
            ["id"] = $"call_{index}_{Guid.NewGuid():N}"[..24],
            ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = call.Name, ["arguments"] = arguments ? call.Arguments : string.Empty },
        };
        if (withIndex)
        {
            json["index"] = index;
        }

        return (JsonNode)json;
    })]);

    /// <summary>A chat message as the simulated model reads it: its text, the calls an assistant made, or a tool's output.</summary>
    private static string MessageText(JsonNode? message) =>
        Text(message?["content"]) + string.Concat((message?["tool_calls"] as JsonArray ?? []).Select(c => $"{c?["function"]?["name"]}({c?["function"]?["arguments"]})"));

    /// <summary>A message's text, whether its content is a string or a list of text parts (OpenAI) or blocks (Anthropic).</summary>
    internal static string Text(JsonNode? content) => content switch
    {
        JsonValue value when value.GetValueKind() == JsonValueKind.String => value.GetValue<string>(),
        JsonArray parts => string.Concat(parts.Select(p => p?["text"]?.GetValue<string>())),
        _ => string.Empty,
    };

    /// <summary>A deterministic unit vector per text (not semantic): enough to exercise the embeddings path.</summary>
    private static float[] Embed(string text, int dimensions)
    {
        var seed = BitConverter.ToInt32(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
        var random = new Random(seed);
        var vector = Enumerable.Range(0, dimensions).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var norm = MathF.Sqrt(vector.Sum(v => v * v));
        return [.. vector.Select(v => v / norm)];
    }
}

/// <summary>
/// Fault directives this server applies to every request; set at start-up or through <c>PUT /sim/fault</c>. One directive
/// is the server's own: <c>[sim:hold]</c> keeps each chat completion request waiting, once recorded, until the directives
/// are next set, and then answers it under the new ones; so a test can act while a call is in flight, without timing.
/// </summary>
internal sealed class ServerFault(string? directives)
{
    private const string HoldDirective = "[sim:hold]";

    private volatile string? _directives = directives;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string? Directives
    {
        get => _directives;
        set
        {
            _directives = value;
            Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }

    /// <summary>Waits while the directives say <c>[sim:hold]</c>, until they are set again.</summary>
    public async Task Hold(CancellationToken cancellationToken)
    {
        var changed = Volatile.Read(ref _changed);
        while (_directives?.Contains(HoldDirective, StringComparison.Ordinal) == true)
        {
            await changed.Task.WaitAsync(cancellationToken);
            changed = Volatile.Read(ref _changed);
        }
    }
}
