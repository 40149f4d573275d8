using Conversations.Api.Errors;
using Microsoft.AspNetCore.Http;

namespace Conversations.Api.Endpoints;

/// <summary>
/// <c>POST /v1/responses/compact</c>: the context a client holds (its <c>input</c>, a <c>previous_response_id</c> chain, or
/// both) summarized by the model with the prompt of a conversation's rolling summary, answered as one <c>compaction</c>
/// item that the client sends as input in place of what it summarizes. Nothing is stored.
/// </summary>
internal static class ResponseCompaction
{
    public static async Task<IResult> Compact([AsParameters] ApiServices api)
    {
        var body = await RequestBody.ReadAsync<ResponseCompactJson>(api.Http.Request);
        if (!body.IsSuccess)
        {
            return body.Error.ToResult();
        }

        var items = await Read(body.Value, api);
        if (!items.IsSuccess)
        {
            return items.Error.ToResult();
        }

        var summary = await Summarize(body.Value.Model!, items.Value, api);
        if (!summary.IsSuccess)
        {
            return summary.Error.ToResult();
        }

        var compaction = new CompactionJson(
            Ids.New(Ids.Response), api.Clock.GetUtcNow().ToUnixTimeSeconds(), [new CompactionItemJson(Ids.New(Ids.Compaction), summary.Value.Text)], ResponseUsageJson.From(summary.Value.Usage));
        return TypedResults.Json(compaction, ApiJson.Options);
    }

    /// <summary>One model call through the call path summarizing <paramref name="items"/> with the rolling summary's prompt.</summary>
    public static async Task<Result<CompletionResult>> Summarize(string model, List<NewItem> items, ApiServices api)
    {
        var outcome = await api.Inference.Compact(new CompletionRequest(model, items, Caller: api.Caller, StreamDeltas: false), api.Aborted);
        return outcome is FinalChunk { Result: { Text.Length: > 0 } summary }
            ? summary
            : (outcome as ErrorChunk)?.Error ?? new GatewayError(502, "server_error", "empty_summary", "The model answered no summary; retry the request.");
    }

    /// <summary>What is compacted, oldest first: the instructions, the chain's items, then the input.</summary>
    private static async Task<Result<List<NewItem>>> Read(ResponseCompactJson body, ApiServices api)
    {
        if (string.IsNullOrWhiteSpace(body.Model))
        {
            return GatewayError.Invalid("Missing required parameter: 'model'.", "model", "missing_required_parameter");
        }

        var hasInput = body.Input is { ValueKind: not System.Text.Json.JsonValueKind.Null };
        if (!hasInput && body.PreviousResponseId is null)
        {
            return GatewayError.Invalid("Missing required parameter: 'input' (or 'previous_response_id').", "input", "missing_required_parameter");
        }

        var items = new List<NewItem>();
        if (body.Instructions is { Length: > 0 } instructions)
        {
            items.Add(new NewItem(Roles.System, instructions));
        }

        if (body.PreviousResponseId is { } previous)
        {
            var chain = await ResponsesEndpoints.LoadChain(previous, api);
            if (!chain.IsSuccess)
            {
                return chain.Error;
            }

            items.AddRange(chain.Value.SelectMany(r => r.Input.Concat(r.Output)).Select(item => item.ToNew()));
        }

        if (hasInput)
        {
            var input = ResponsesEndpoints.ReadInput(body.Input);
            if (!input.IsSuccess)
            {
                return input.Error;
            }

            items.AddRange(input.Value);
        }

        return items;
    }
}
