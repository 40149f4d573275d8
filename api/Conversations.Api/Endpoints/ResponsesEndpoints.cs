using Conversations.Api.Security;
using System.Net.ServerSentEvents;
using System.Text.Json;
using Conversations.Api.Errors;
using Conversations.Api.Streaming;
using Conversations.Tenancy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Conversations.Api.Endpoints;

/// <summary>
/// The Responses API. With <c>conversation</c>, the conversation grain supplies the context and
/// appends the turn; with <c>previous_response_id</c>, the chain of stored responses does; otherwise
/// the call is stateless.
/// </summary>
public static class ResponsesEndpoints
{
    private const int MaxInputItems = 1000;
    private const int MaxChainLength = 1000;

    /// <summary>How often a stream of a running response reads it again.</summary>
    private static readonly TimeSpan StreamPoll = TimeSpan.FromMilliseconds(200);

    public static RouteGroupBuilder MapResponses(this RouteGroupBuilder v1)
    {
        var responses = v1.MapGroup("/responses").WithTags("Responses").RequireScope(EndpointGroups.Responses);
        responses.MapPost("/", Create)
            .WithSummary("Create a model response, optionally within a conversation.")
            .Accepts<ResponseCreateJson>("application/json")
            .Produces<ResponseJson>()
            .Produces<OpenAIErrorBody>(400)
            .Produces<OpenAIErrorBody>(404);
        responses.MapPost("/input_tokens", CountInputTokens)
            .WithSummary("Count the input tokens a response request would send to the model, its context included.")
            .Accepts<ResponseCreateJson>("application/json")
            .Produces<InputTokensJson>()
            .Produces<OpenAIErrorBody>(400)
            .Produces<OpenAIErrorBody>(404);
        responses.MapPost("/compact", ResponseCompaction.Compact)
            .WithSummary("Compact a context into one compaction item, summarized by the model.")
            .Accepts<ResponseCompactJson>("application/json")
            .Produces<CompactionJson>()
            .Produces<OpenAIErrorBody>(400)
            .Produces<OpenAIErrorBody>(404);
        responses.MapGet("/{responseId}", Get).WithSummary("Retrieve a stored response.")
            .Produces<ResponseJson>().Produces<OpenAIErrorBody>(404);
        responses.MapPost("/{responseId}/cancel", Cancel).WithSummary("Cancel a background response that has not finished.")
            .Produces<ResponseJson>().Produces<OpenAIErrorBody>(400).Produces<OpenAIErrorBody>(404);
        responses.MapDelete("/{responseId}", Delete).WithSummary("Delete a stored response.")
            .Produces<DeletedJson>().Produces<OpenAIErrorBody>(404);
        responses.MapGet("/{responseId}/input_items", ListInputItems).WithSummary("List a stored response's input items.")
            .Produces<ListJson<ItemJson>>().Produces<OpenAIErrorBody>(404);
        return v1;
    }

    private static async Task<IResult> Create([AsParameters] ApiServices api)
    {
        var idempotency = await IdempotencyHeader.ReadAsync(api.Http.Request);
        if (!idempotency.IsSuccess)
        {
            return idempotency.Error.ToResult();
        }

        var body = await RequestBody.ReadAsync<ResponseCreateJson>(api.Http.Request);
        if (!body.IsSuccess)
        {
            return body.Error.ToResult();
        }

        var stream = body.Value.Stream == true;
        var plan = await ResponsePlan.Prepare(body.Value, api, idempotency.Value);
        if (!plan.IsSuccess)
        {
            return plan.Error.ToResult();
        }

        var turn = plan.Value;
        if (body.Value.Background == true)
        {
            return await StartInBackground(turn, idempotency.Value, api);
        }

        var claimed = await turn.Claim(api);
        if (!claimed.IsSuccess)
        {
            return claimed.Error.ToResult();
        }

        var claim = claimed.Value;
        if (claim.Outcome == IdempotencyOutcome.Completed)
        {
            return await Replay(claim.ResponseId!, stream, api);
        }

        if (claim.Outcome != IdempotencyOutcome.Claimed)
        {
            return Unclaimed(claim.Outcome).ToResult();
        }

        var compacted = await InlineCompaction.Apply(turn, api);
        if (!compacted.IsSuccess)
        {
            return await turn.Fail(compacted.Error, api);
        }

        var reader = new ChunkReader(turn.Start(api), api.Logger, api.Aborted);
        var first = await reader.NextAsync();
        CallHeaders.Write(api.Http.Response, reader);
        if (first is ErrorChunk or FinalChunk { Result.ReplayOf: not null })
        {
            await reader.DisposeAsync();
            return first is FinalChunk { Result: var replayed }
                ? await Replay(replayed.ReplayOf!, stream, api, turn, replayed.OutputItems)
                : await turn.Fail(((ErrorChunk)first).Error, api);
        }

        if (stream)
        {
            return TypedResults.ServerSentEvents(new ResponseEventStream(turn, api).Events(reader, first));
        }

        await using (reader)
        {
            try
            {
                var result = await reader.ReadToEndAsync(first);
                if (!result.IsSuccess)
                {
                    return await turn.Fail(result.Error, api);
                }

                var stored = await turn.Complete(result.Value, reader.Info, api);
                return stored.IsSuccess ? TypedResults.Json(turn.ToJson(stored.Value), ApiJson.Options) : stored.Error.ToResult();
            }
            finally
            {
                await turn.ReleaseClaim(); // no-op once completed; frees the key when the client went away
            }
        }
    }

    /// <summary>
    /// <c>POST /v1/responses/input_tokens</c>: the request validated as a response would be, its context built (a conversation's
    /// or a <c>previous_response_id</c> chain's, under its policy), and counted; no model call, nothing stored.
    /// </summary>
    private static async Task<IResult> CountInputTokens([AsParameters] ApiServices api)
    {
        var body = await RequestBody.ReadAsync<ResponseCreateJson>(api.Http.Request);
        if (!body.IsSuccess)
        {
            return body.Error.ToResult();
        }

        var plan = await ResponsePlan.Prepare(body.Value with { Stream = false, Store = false }, api, idempotency: null);
        var counted = plan.IsSuccess ? await plan.Value.CountInputTokens(api) : (Result<int>)plan.Error;
        return counted.IsSuccess ? TypedResults.Json(new InputTokensJson(counted.Value), ApiJson.Options) : counted.Error.ToResult();
    }

    /// <summary>
    /// <c>background: true</c>: the work handed to its grain, which stores the response as <c>queued</c> and runs it; the
    /// client gets the queued response at once and polls <c>GET /v1/responses/{id}</c>, or, with <c>stream: true</c>, its events.
    /// </summary>
    private static async Task<IResult> StartInBackground(ResponsePlan plan, Idempotency? idempotency, ApiServices api)
    {
        var refused = plan.Body.Store == false
                ? GatewayError.Invalid("'background' requires 'store': a background response is stored to be polled.", "store", "invalid_value")
                : plan.HostedMcp.Count > 0
                    ? GatewayError.Invalid("Tools of type 'mcp' cannot be used with 'background' yet.", "tools", "unsupported_value")
                    : null;
        if (refused is not null)
        {
            return refused.ToResult();
        }

        // With an Idempotency-Key (conversation or not), the key names the run: a retry answers the response it started, and starts none.
        var key = idempotency is null ? null : api.Grains.GetGrain<IIdempotencyGrain>(GrainKeys.For(api.Tenant, idempotency.Key));
        var claimed = key is null ? new IdempotencyClaim(IdempotencyOutcome.Claimed) : await key.Claim(idempotency!.Fingerprint);
        if (!claimed.IsSuccess)
        {
            return claimed.Error.ToResult();
        }

        if (claimed.Value.Outcome != IdempotencyOutcome.Claimed)
        {
            if (claimed.Value is not { Outcome: IdempotencyOutcome.Completed, ResponseId: { } id })
            {
                return Unclaimed(claimed.Value.Outcome).ToResult();
            }

            var first = await api.Response(id).Get();
            return first.IsSuccess ? Running(first.Value, plan.Body.Stream == true, api) : first.Error.ToResult();
        }

        // Refused now what the run would refuse at once (an unknown model or conversation), by building the context it would send.
        var checkedFirst = await plan.CountInputTokens(api);
        var compacted = checkedFirst.IsSuccess ? await InlineCompaction.Apply(plan, api) : checkedFirst.Error;
        var started = compacted.IsSuccess ? await Background(plan.ResponseId, api).Start(plan.Background(api)) : compacted.Error;
        if (key is not null)
        {
            _ = await (started.IsSuccess ? key.Complete(plan.ResponseId) : key.Release()); // a key left claimed (its grain logged why) lapses
        }

        return started.IsSuccess ? Running(started.Value, plan.Body.Stream == true, api) : started.Error.ToResult();
    }

    /// <summary>
    /// A background response as its create request answers it. With 'stream', the events its grain's work produces, numbered
    /// as a resumed stream numbers them: a client that goes away leaves the work running and resumes with GET ?stream=true&amp;starting_after=N.
    /// </summary>
    private static IResult Running(StoredResponse response, bool stream, ApiServices api) => stream
        ? TypedResults.ServerSentEvents(ResponseEventStream.Resume(response, () => api.Response(response.Id).Get(), -1, StreamPoll, api.Aborted))
        : TypedResults.Json(ResponseJson.From(response, store: true), ApiJson.Options);

    /// <summary><c>POST /v1/responses/{id}/cancel</c>: only a background response can be cancelled, as OpenAI says; a finished one is answered as it is.</summary>
    private static async Task<IResult> Cancel(string responseId, [AsParameters] ApiServices api)
    {
        var response = await Find(responseId, api);
        if (!response.IsSuccess)
        {
            return response.Error.ToResult();
        }

        if (response.Value.Background != true)
        {
            return GatewayError.Invalid("Only responses created with 'background' set to true can be cancelled.", null, "invalid_request").ToResult();
        }

        var cancelled = await Background(responseId, api).Cancel();
        return cancelled.IsSuccess ? TypedResults.Json(ResponseJson.From(cancelled.Value, store: true), ApiJson.Options) : cancelled.Error.ToResult();
    }

    private static GatewayError Unclaimed(IdempotencyOutcome outcome) => outcome == IdempotencyOutcome.Mismatch
        ? GatewayError.IdempotencyKeyReused
        : GatewayError.Conflict("A request with this Idempotency-Key is still in progress; retry it later.", "idempotency_in_progress");

    private static IBackgroundResponseGrain Background(string responseId, ApiServices api) =>
        api.Grains.Reference<IBackgroundResponseGrain>(GrainKeys.For(api.Tenant, responseId));

    /// <summary>Answers an idempotent retry with the response the first request produced.</summary>
    private static async Task<IResult> Replay(
        string responseId, bool stream, ApiServices api, ResponsePlan? plan = null, IReadOnlyList<ConversationItem>? outputs = null)
    {
        var original = await api.Response(responseId).Get();
        if (!original.IsSuccess && plan?.ConversationId is { } conversationId)
        {
            // The turn was stored but its response record was not (the first attempt failed in between): rebuild it from the turn's items.
            original = await plan.Rebuild(responseId, conversationId, outputs, api);
        }

        if (!original.IsSuccess)
        {
            return GatewayError.Conflict($"This Idempotency-Key already produced response '{responseId}', which was not stored.", "idempotency_key_used").ToResult();
        }

        return stream
            ? TypedResults.ServerSentEvents(ResponseEventStream.Replay(original.Value))
            : TypedResults.Json(ResponseJson.From(original.Value, store: true), ApiJson.Options);
    }

    private static async Task<IResult> Get(string responseId, [AsParameters] ApiServices api, string? stream, [Microsoft.AspNetCore.Mvc.FromQuery(Name = "starting_after")] string? startingAfter)
    {
        var response = await Find(responseId, api);
        if (!response.IsSuccess)
        {
            return response.Error.ToResult();
        }

        if (stream != "true")
        {
            return TypedResults.Json(ResponseJson.From(response.Value, store: true), ApiJson.Options);
        }

        var after = -1;
        if (startingAfter is not null && (!int.TryParse(startingAfter, System.Globalization.CultureInfo.InvariantCulture, out after) || after < -1))
        {
            return GatewayError.Invalid("Invalid 'starting_after': expected a sequence number.", "starting_after", "invalid_value").ToResult();
        }

        return TypedResults.ServerSentEvents(
            ResponseEventStream.Resume(response.Value, () => api.Response(responseId).Get(), after, StreamPoll, api.Aborted));
    }

    private static async Task<IResult> Delete(string responseId, [AsParameters] ApiServices api)
    {
        if (!Ids.IsValid(responseId, Ids.Response))
        {
            return GatewayError.NotFound("response", responseId).ToResult();
        }

        var deleted = await api.Response(responseId).Delete();
        return deleted.IsSuccess
            ? TypedResults.Json(new DeletedJson(responseId, "response.deleted", true), ApiJson.Options)
            : deleted.Error.ToResult();
    }

    private static async Task<IResult> ListInputItems(string responseId, [AsParameters] ApiServices api, string? after, string? limit, string? order)
    {
        var query = ItemPaging.Parse(after, limit, order);
        if (!query.IsSuccess)
        {
            return query.Error.ToResult();
        }

        var response = await Find(responseId, api);
        if (!response.IsSuccess)
        {
            return response.Error.ToResult();
        }

        var page = query.Value.Apply(response.Value.Input);
        return page.IsSuccess ? TypedResults.Json(ItemPaging.ToJson(page.Value), ApiJson.Options) : page.Error.ToResult();
    }

    internal static async Task<Result<StoredResponse>> Find(string responseId, ApiServices api) =>
        Ids.IsValid(responseId, Ids.Response)
            ? await api.Response(responseId).Get()
            : GatewayError.NotFound("response", responseId);

    /// <summary>Loads the chain ending at <paramref name="responseId"/>, oldest first.</summary>
    internal static async Task<Result<List<StoredResponse>>> LoadChain(string responseId, ApiServices api)
    {
        var chain = new List<StoredResponse>();
        for (var id = responseId; id is not null && chain.Count < MaxChainLength;)
        {
            var response = await Find(id, api);
            if (!response.IsSuccess)
            {
                if (chain.Count == 0)
                {
                    return response.Error with { Param = "previous_response_id" };
                }

                break; // An ancestor was deleted: the chain starts after it.
            }

            chain.Add(response.Value);
            id = response.Value.PreviousResponseId;
        }

        chain.Reverse();
        return chain;
    }

    internal static Result<List<NewItem>> ReadInput(JsonElement? input, Media.MediaOptions? media = null) => InputItems.ReadInput(input, MaxInputItems, media);
}
