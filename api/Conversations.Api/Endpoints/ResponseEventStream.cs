using System.Net.ServerSentEvents;
using System.Text.Json;
using Conversations.Api.Errors;
using Conversations.Api.Streaming;

namespace Conversations.Api.Endpoints;

/// <summary>
/// Writes a response as the Responses API's event sequence: <c>response.created</c>, output item and
/// content part events, <c>response.output_text.delta</c>…, the <c>.done</c> events and
/// <c>response.completed</c>, or <c>response.failed</c> when the call fails after it started.
/// </summary>
internal sealed class ResponseEventStream(ResponsePlan plan, ApiServices api)
{
    private const int OutputIndex = 0;
    private const int ContentIndex = 0;
    private int _sequence;

    public async IAsyncEnumerable<SseItem<string>> Events(ChunkReader reader, CompletionChunk first)
    {
        await using var release = new ClaimRelease(plan); // a client that goes away mid-stream frees its idempotency key
        await using (reader)
        {
            yield return Event("response.created", new { response = plan.InProgress() });
            yield return Event("response.in_progress", new { response = plan.InProgress() });
            var itemId = plan.OutputItemId;
            yield return Event("response.output_item.added", new
            {
                output_index = OutputIndex,
                item = new { id = itemId, type = "message", status = "in_progress", role = Roles.Assistant, content = Array.Empty<object>() },
            });
            yield return Event("response.content_part.added", new
            {
                item_id = itemId, output_index = OutputIndex, content_index = ContentIndex, part = TextPartJson.Output(string.Empty),
            });

            for (var chunk = first; ; chunk = await reader.NextAsync())
            {
                if (chunk.Delta is { } delta)
                {
                    yield return Event("response.output_text.delta", new
                    {
                        item_id = itemId, output_index = OutputIndex, content_index = ContentIndex, delta, logprobs = Array.Empty<object>(),
                    });
                    continue;
                }

                if (chunk.Final is not { } final)
                {
                    await plan.ReleaseClaim();
                    yield return Failed(chunk.Error!);
                    yield break;
                }

                var stored = await plan.Complete(final, api);
                if (!stored.IsSuccess)
                {
                    yield return Failed(stored.Error);
                    yield break;
                }

                var output = stored.Value.Output[0];
                yield return Event("response.output_text.done", new
                {
                    item_id = itemId, output_index = OutputIndex, content_index = ContentIndex, text = output.Text, logprobs = Array.Empty<object>(),
                });
                yield return Event("response.content_part.done", new
                {
                    item_id = itemId, output_index = OutputIndex, content_index = ContentIndex, part = TextPartJson.Output(output.Text),
                });
                yield return Event("response.output_item.done", new { output_index = OutputIndex, item = MessageItemJson.From(output) });
                yield return Event("response.completed", new { response = plan.ToJson(stored.Value) });
                yield break;
            }
        }
    }

    /// <summary>An idempotent retry of a finished response: its events, at once.</summary>
    public static async IAsyncEnumerable<SseItem<string>> Replay(StoredResponse response)
    {
        var json = ResponseJson.From(response, store: true);
        var sequence = 0;
        var text = response.Output.Count > 0 ? response.Output[0].Text : string.Empty;
        yield return Format("response.created", new { response = json }, sequence++);
        yield return Format("response.output_text.done", new
        {
            item_id = json.Output.Count > 0 ? json.Output[0].Id : null, output_index = OutputIndex, content_index = ContentIndex, text, logprobs = Array.Empty<object>(),
        }, sequence++);
        yield return Format("response.completed", new { response = json }, sequence);
        await Task.CompletedTask;
    }

    private sealed class ClaimRelease(ResponsePlan plan) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await plan.ReleaseClaim();
    }

    private SseItem<string> Failed(GatewayError error) => Event("response.failed", new { response = plan.Failed(error) });

    private SseItem<string> Event<T>(string type, T payload) => Format(type, payload, _sequence++);

    private static SseItem<string> Format<T>(string type, T payload, int sequence)
    {
        // type and sequence_number lead every event, as OpenAI writes them.
        var json = JsonSerializer.SerializeToNode(payload, ApiJson.Options)!.AsObject();
        var ordered = new System.Text.Json.Nodes.JsonObject
        {
            ["type"] = type,
            ["sequence_number"] = sequence,
        };
        foreach (var (name, value) in json.ToList())
        {
            json.Remove(name);
            ordered[name] = value;
        }

        return new SseItem<string>(ordered.ToJsonString(ApiJson.Options), type);
    }
}
