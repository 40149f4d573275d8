using Conversations.Api.Security;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Conversations.Api.Errors;
using Conversations.Api.Streaming;
using Conversations.Tenancy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Conversations.Api.Endpoints;

/// <summary><c>POST /v1/chat/completions</c>: stateless chat, plain or streamed as <c>chat.completion.chunk</c> events.</summary>
public static class ChatCompletionsEndpoints
{
    public static RouteGroupBuilder MapChatCompletions(this RouteGroupBuilder v1)
    {
        v1.MapPost("/chat/completions", Create)
            .RequireScope(EndpointGroups.Chat)
            .WithTags("Chat")
            .WithSummary("Create a chat completion (stateless).")
            .Accepts<ChatCompletionCreateJson>("application/json")
            .Produces<ChatCompletionJson>()
            .Produces<Errors.OpenAIErrorBody>(400);
        return v1;
    }

    private static async Task<IResult> Create([AsParameters] ApiServices api)
    {
        var read = await RequestBody.ReadAsync<ChatCompletionCreateJson>(api.Http.Request);
        var body = read.IsSuccess ? await PromptReference.Apply(read.Value, api) : read.Error;
        if (!body.IsSuccess)
        {
            return body.Error.ToResult();
        }

        var request = Validate(body.Value, api.Media);
        var endUser = api.EndUser(body.Value.User);
        if (!request.IsSuccess || !endUser.IsSuccess)
        {
            return (request.Error ?? endUser.Error!).ToResult();
        }

        var messages = await Media.FileParts.Resolve([.. request.Value.Messages], api);
        if (!messages.IsSuccess)
        {
            return messages.Error.ToResult();
        }

        var call = request.Value with { Messages = messages.Value, Caller = api.Caller, EndUser = endUser.Value, StreamDeltas = body.Value.Stream == true, CacheControl = api.CacheControl };
        var id = Ids.New(Ids.ChatCompletion);
        var created = api.Clock.GetUtcNow().ToUnixTimeSeconds();
        var reader = new ChunkReader(api.Inference.Complete(call, api.Aborted), api.Logger, api.Aborted);
        var first = await reader.NextAsync();
        CallHeaders.Write(api.Http.Response, reader);
        if (first is ErrorChunk { Error: var error })
        {
            await reader.DisposeAsync();
            return error.ToResult();
        }

        if (body.Value.Stream == true)
        {
            var includeUsage = body.Value.StreamOptions?.IncludeUsage == true;
            return TypedResults.ServerSentEvents(Events(reader, first, id, created, request.Value.Model, includeUsage));
        }

        await using (reader)
        {
            var result = await reader.ReadToEndAsync(first);
            return result.IsSuccess
                ? TypedResults.Json(
                    new ChatCompletionJson(id, created, result.Value.Model,
                        [new ChatChoiceJson(0, AssistantMessageJson.From(result.Value), result.Value.FinishReason, ChatLogprobsJson.From(result.Value.Logprobs))],
                        ChatUsageJson.From(result.Value.Usage)),
                    ApiJson.Options)
                : result.Error.ToResult();
        }
    }

    private static async IAsyncEnumerable<SseItem<string>> Events(
        ChunkReader reader, CompletionChunk first, string id, long created, string model, bool includeUsage)
    {
        await using (reader)
        {
            yield return Data(new ChatCompletionChunkJson(id, created, model, [new ChatChunkChoiceJson(0, new ChatDeltaJson(Roles.Assistant, string.Empty), null)]));
            for (var chunk = first; ; chunk = await reader.NextAsync())
            {
                if (chunk is DeltaChunk { Text: var delta, Logprobs: var logprobs })
                {
                    yield return Data(new ChatCompletionChunkJson(id, created, model, [new ChatChunkChoiceJson(0, new ChatDeltaJson(Content: delta), null, ChatLogprobsJson.From(logprobs))]));
                    continue;
                }

                if (chunk is FinalChunk { Result: var final })
                {
                    if (final.Calls.Count > 0)
                    {
                        // Providers hand calls over whole, so each goes out as one delta with its id, name and arguments.
                        var calls = final.Calls.Select((call, index) => ChatToolCallJson.From(call, index)).ToList();
                        yield return Data(new ChatCompletionChunkJson(id, created, model, [new ChatChunkChoiceJson(0, new ChatDeltaJson(ToolCalls: calls), null)]));
                    }

                    yield return Data(new ChatCompletionChunkJson(id, created, final.Model, [new ChatChunkChoiceJson(0, new ChatDeltaJson(), final.FinishReason)]));
                    if (includeUsage)
                    {
                        yield return Data(new ChatCompletionChunkJson(id, created, final.Model, [], ChatUsageJson.From(final.Usage)));
                    }

                    yield return new SseItem<string>("[DONE]");
                    yield break;
                }

                // A failure after the stream started: an error event and no [DONE], so no client mistakes it for a finish.
                yield return Data(((ErrorChunk)chunk).Error.ToBody());
                yield break;
            }
        }
    }

    private static SseItem<string> Data<T>(T payload) => new(JsonSerializer.Serialize(payload, ApiJson.Options));

    private static Result<CompletionRequest> Validate(ChatCompletionCreateJson body, Media.MediaOptions media)
    {
        if (string.IsNullOrWhiteSpace(body.Model))
        {
            return GatewayError.Invalid("Missing required parameter: 'model'.", "model", "missing_required_parameter");
        }

        if (body.Messages is not { Count: > 0 } messages)
        {
            return GatewayError.Invalid("Missing required parameter: 'messages'.", "messages", "missing_required_parameter");
        }

        if (body.N is { } n && n != 1)
        {
            return GatewayError.Invalid("Only n=1 is supported.", "n", "unsupported_value");
        }

        var tools = ToolCalls.Read(body.Tools, body.ToolChoice, nested: true);
        if (!tools.IsSuccess)
        {
            return tools.Error;
        }

        var format = OutputFormats.Read(body.ResponseFormat, "response_format", nested: true);
        if (!format.IsSuccess)
        {
            return format.Error;
        }

        if (Sampling.Validate(body.Temperature, body.TopP, body.MaxCompletionTokens ?? body.MaxTokens,
                body.MaxCompletionTokens is null ? "max_tokens" : "max_completion_tokens") is { } invalid)
        {
            return invalid;
        }

        var logprobs = Sampling.Logprobs(body.Logprobs == true, body.TopLogprobs, needsSwitch: true);
        if (!logprobs.IsSuccess)
        {
            return logprobs.Error;
        }

        var items = new List<NewItem>(messages.Count);
        for (var i = 0; i < messages.Count; i++)
        {
            var read = ReadMessage(messages[i], $"messages[{i}]", media);
            if (!read.IsSuccess)
            {
                return read.Error;
            }

            items.AddRange(read.Value);
        }

        return new CompletionRequest(body.Model, items, body.Temperature, body.MaxCompletionTokens ?? body.MaxTokens, body.TopP, body.User)
        {
            Tools = tools.Value.Tools,
            ToolChoice = tools.Value.Choice,
            ParallelToolCalls = body.ParallelToolCalls,
            Format = format.Value,
            Logprobs = logprobs.Value,
        };
    }

    /// <summary>
    /// A chat message as items: a message (a user's with its images, files and audio); an assistant's text and its function
    /// calls; or a tool's output.
    /// </summary>
    private static Result<List<NewItem>> ReadMessage(ChatMessageJson? message, string param, Media.MediaOptions media)
    {
        if (message?.Role is not { } role || !(Roles.IsKnown(role) || role == Roles.Tool))
        {
            return GatewayError.Invalid(
                $"Invalid value for '{param}.role': expected one of 'system', 'developer', 'user', 'assistant', 'tool'.", $"{param}.role", "invalid_value");
        }

        if (role == Roles.Tool)
        {
            var output = ContentParts.ReadText(message.Content, $"{param}.content");
            return ToolCalls.CheckCallId(message.ToolCallId, $"{param}.tool_call_id") is { } invalid ? invalid
                : output.IsSuccess ? new List<NewItem> { NewItem.OutputOf(message.ToolCallId!, output.Value) }
                : output.Error;
        }

        var items = new List<NewItem>();
        var calls = role == Roles.Assistant ? message.ToolCalls ?? [] : [];
        if (calls.Count == 0 || message.Content is { ValueKind: not JsonValueKind.Null })
        {
            var content = ContentParts.Read(message.Content, $"{param}.content", role == Roles.User ? media : null);
            if (!content.IsSuccess)
            {
                return content.Error;
            }

            items.Add(new NewItem(role, content.Value.Text, Parts: content.Value.Parts));
        }

        for (var c = 0; c < calls.Count; c++)
        {
            var callParam = $"{param}.tool_calls[{c}]";
            if (calls[c] is not { Function: { } function } call)
            {
                return GatewayError.Invalid($"Missing required parameter: '{callParam}.function'.", $"{callParam}.function", "missing_required_parameter");
            }

            if ((ToolCalls.CheckCallId(call.Id, $"{callParam}.id") ?? ToolCalls.CheckName(function.Name, $"{callParam}.function.name")) is { } invalid)
            {
                return invalid;
            }

            if (call.Type is not (null or "function") || items.Exists(item => item.Call?.CallId == call.Id))
            {
                return call.Type is not (null or "function")
                    ? GatewayError.Invalid($"Invalid '{callParam}.type': expected 'function'.", $"{callParam}.type", "invalid_value")
                    : GatewayError.Invalid($"Invalid '{callParam}.id': the id '{call.Id}' is used twice.", $"{callParam}.id", "invalid_value");
            }

            var arguments = ToolCalls.ReadArguments(function.Arguments, $"{callParam}.function.arguments");
            if (!arguments.IsSuccess)
            {
                return arguments.Error;
            }

            items.Add(NewItem.CallOf(new FunctionCall(call.Id!, function.Name!, arguments.Value)));
        }

        return items;
    }
}
