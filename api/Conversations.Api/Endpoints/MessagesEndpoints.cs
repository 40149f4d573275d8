using System.Net.ServerSentEvents;
using System.Text.Json;
using Conversations.Api.Errors;
using Conversations.Api.Security;
using Conversations.Api.Streaming;
using Conversations.Tenancy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Conversations.Api.Endpoints;

/// <summary>
/// Anthropic's Messages API over any route: <c>POST /v1/messages</c>, plain or streamed as Anthropic's events, and
/// <c>POST /v1/messages/count_tokens</c>. A request is translated at the edge into the call chat completions make and
/// takes the same path (stateless inference, the call pipeline), so quotas, routing, fallback, usage and the cache
/// apply alike; errors take Anthropic's shape (<see cref="AnthropicErrors"/>).
/// </summary>
public static class MessagesEndpoints
{
    public const string VersionHeader = "anthropic-version";

    public static RouteGroupBuilder MapMessages(this RouteGroupBuilder v1)
    {
        var messages = v1.MapGroup("/messages").WithTags("Anthropic").RequireScope(EndpointGroups.Chat);
        messages.MapPost("/", Create)
            .WithSummary("Create a message (Anthropic's Messages API, stateless).")
            .Accepts<MessageCreateJson>("application/json")
            .Produces<MessageJson>()
            .Produces<AnthropicErrorBody>(400);
        messages.MapPost("/count_tokens", CountTokens)
            .WithSummary("Count a message request's input tokens as the gateway counts them for admission.")
            .Accepts<MessageCreateJson>("application/json")
            .Produces<MessageTokensCountJson>()
            .Produces<AnthropicErrorBody>(400);
        return v1;
    }

    private static async Task<IResult> Create([AsParameters] ApiServices api)
    {
        var request = await ReadAsync(api, forCounting: false);
        if (!request.IsSuccess)
        {
            return request.Error.ToResult();
        }

        var stream = request.Value.StreamDeltas;
        var id = Ids.New(Ids.Message);
        var reader = new ChunkReader(api.Inference.Complete(request.Value with { Caller = api.Caller }, api.Aborted), api.Logger, api.Aborted);
        var first = await reader.NextAsync();
        CallHeaders.Write(api.Http.Response, reader);
        if (first is ErrorChunk { Error: var error })
        {
            await reader.DisposeAsync();
            return error.ToResult();
        }

        if (stream)
        {
            return TypedResults.ServerSentEvents(Events(reader, first, id, request.Value.Model));
        }

        await using (reader)
        {
            var result = await reader.ReadToEndAsync(first);
            return result.IsSuccess ? TypedResults.Json(Message(id, result.Value), ApiJson.Options) : result.Error.ToResult();
        }
    }

    private static async Task<IResult> CountTokens([AsParameters] ApiServices api)
    {
        var request = await ReadAsync(api, forCounting: true);
        var counted = request.IsSuccess ? await api.Inference.CountInputTokens(request.Value, api.Aborted) : (Result<int>)request.Error;
        return counted.IsSuccess ? TypedResults.Json(new MessageTokensCountJson(counted.Value), ApiJson.Options) : counted.Error.ToResult();
    }

    /// <summary>The call a request asks for, with its end user; refused when the key may not use the model, as chat completions are.</summary>
    private static async Task<Result<CompletionRequest>> ReadAsync(ApiServices api, bool forCounting)
    {
        if (string.IsNullOrEmpty(api.Http.Request.Headers[VersionHeader]))
        {
            return GatewayError.Invalid($"{VersionHeader}: header is required", VersionHeader, "missing_required_parameter");
        }

        var body = await RequestBody.ReadAsync<MessageCreateJson>(api.Http.Request);
        if (!body.IsSuccess)
        {
            return body.Error;
        }

        var request = AnthropicMessagesRequest.Read(body.Value, api.Media, forCounting);
        if (!request.IsSuccess)
        {
            return request.Error;
        }

        var messages = await Media.FileParts.Resolve([.. request.Value.Messages], api); // file_id sources
        if (!messages.IsSuccess)
        {
            return messages.Error;
        }

        var endUser = api.EndUser(request.Value.EndUser);
        return !endUser.IsSuccess ? endUser.Error
            : forCounting && !api.Caller.MayUseModel(request.Value.Model) ? GatewayError.ModelNotFound(request.Value.Model)
            : request.Value with { Messages = messages.Value, EndUser = endUser.Value, StreamDeltas = body.Value.Stream == true, CacheControl = api.CacheControl };
    }

    private static MessageJson Message(string id, CompletionResult result) => new(
        id, result.Model, [.. Content(result)], AnthropicMessagesRequest.StopReason(result.FinishReason), MessageUsageJson.From(result.Usage));

    /// <summary>The text (when there is any, or nothing else), then one <c>tool_use</c> block per call.</summary>
    private static IEnumerable<ContentBlockJson> Content(CompletionResult result)
    {
        if (result.Text.Length > 0 || result.Calls.Count == 0)
        {
            yield return ContentBlockJson.TextBlock(result.Text);
        }

        foreach (var call in result.Calls)
        {
            yield return ContentBlockJson.ToolUse(call);
        }
    }

    /// <summary>
    /// Anthropic's event sequence: <c>message_start</c>, <c>ping</c>, a text block (start, <c>text_delta</c>s, stop) when the
    /// model writes text, a <c>tool_use</c> block per call (its input as one <c>input_json_delta</c>: providers hand calls
    /// over whole), <c>message_delta</c> with the stop reason and usage, <c>message_stop</c>. Input tokens are known only at
    /// the end, so <c>message_start</c> says 0 and <c>message_delta</c> carries the count. A failure after the stream
    /// started is an <c>error</c> event and no <c>message_stop</c>, so no client mistakes it for a finish.
    /// </summary>
    private static async IAsyncEnumerable<SseItem<string>> Events(ChunkReader reader, CompletionChunk first, string id, string model)
    {
        await using (reader)
        {
            yield return Event("message_start", new MessageEvents.MessageStart(new MessageJson(id, model, [], null, new MessageUsageJson(0, 0))));
            yield return Event("ping", new MessageEvents.Ping());
            var index = 0;
            var textOpen = false;
            for (var chunk = first; ; chunk = await reader.NextAsync())
            {
                if (chunk is DeltaChunk { Text: var delta })
                {
                    if (!textOpen)
                    {
                        textOpen = true;
                        yield return Event("content_block_start", new MessageEvents.ContentBlockStart(index, ContentBlockJson.TextBlock(string.Empty)));
                    }

                    yield return Event("content_block_delta", new MessageEvents.ContentBlockDelta(index, new MessageEvents.Delta("text_delta", Text: delta)));
                    continue;
                }

                if (chunk is ErrorChunk { Error: var error })
                {
                    yield return Event("error", AnthropicErrors.Body(error));
                    yield break;
                }

                var final = ((FinalChunk)chunk).Result;
                if (textOpen)
                {
                    yield return Event("content_block_stop", new MessageEvents.ContentBlockStop(index++));
                }

                foreach (var call in final.Calls)
                {
                    yield return Event("content_block_start", new MessageEvents.ContentBlockStart(index, ContentBlockJson.ToolUse(call, withInput: false)));
                    yield return Event("content_block_delta", new MessageEvents.ContentBlockDelta(index, new MessageEvents.Delta("input_json_delta", PartialJson: call.Arguments)));
                    yield return Event("content_block_stop", new MessageEvents.ContentBlockStop(index++));
                }

                yield return Event("message_delta", new MessageEvents.MessageDelta(
                    new MessageEvents.StopDelta(AnthropicMessagesRequest.StopReason(final.FinishReason)), MessageUsageJson.From(final.Usage)));
                yield return Event("message_stop", new MessageEvents.MessageStop());
                yield break;
            }
        }
    }

    private static SseItem<string> Event<T>(string type, T payload) => new(JsonSerializer.Serialize(payload, ApiJson.Options), type);
}
