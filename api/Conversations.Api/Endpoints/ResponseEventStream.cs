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
    private const int ContentIndex = 0;
    private readonly ItemEvents _events = new();

    public async IAsyncEnumerable<SseItem<string>> Events(ChunkReader reader, CompletionChunk first)
    {
        await using var release = new ClaimRelease(plan); // a client that goes away mid-stream frees its idempotency key
        await using (reader)
        {
            yield return Event("response.created", new { response = plan.InProgress(reader.Info.Truncation) });
            yield return Event("response.in_progress", new { response = plan.InProgress(reader.Info.Truncation) });
            var itemId = plan.OutputItemId;
            var messageStarted = false;
            var firstIndex = 0; // a compaction made in line (here, or in a conversation's turn) is output 0, announced before the model's answer
            if ((plan.Compaction ?? reader.Info.Compaction) is { } compaction)
            {
                foreach (var item in _events.Of(compaction, firstIndex++, announce: true))
                {
                    yield return item;
                }
            }

            var announced = new HashSet<string>(StringComparer.Ordinal); // hosted MCP items, written as each finishes
            var messageIndex = firstIndex;
            for (var chunk = first; ; chunk = await reader.NextAsync())
            {
                foreach (var finished in plan.McpLoop?.TakeFinished() ?? [])
                {
                    foreach (var item in _events.Of(finished, firstIndex + announced.Count, announce: true))
                    {
                        yield return item;
                    }

                    announced.Add(finished.Id);
                }

                if (chunk is DeltaChunk { Text: var delta, Logprobs: var logprobs })
                {
                    if (!messageStarted)
                    {
                        // The message is announced with its first text: a model that only calls functions writes none.
                        messageStarted = true;
                        messageIndex = firstIndex + announced.Count;
                        foreach (var started in _events.MessageStarted(itemId, messageIndex))
                        {
                            yield return started;
                        }
                    }

                    yield return Event("response.output_text.delta", new
                    {
                        item_id = itemId, output_index = messageIndex, content_index = ContentIndex, delta,
                        logprobs = plan.Logprobs is null ? [] : TokenLogprobJson.From(logprobs ?? []),
                    });
                    continue;
                }

                if (chunk is ErrorChunk { Error: var error })
                {
                    await plan.ReleaseClaim();
                    yield return Failed(error, reader.Info.Truncation);
                    yield break;
                }

                var stored = await plan.Complete(((FinalChunk)chunk).Result, reader.Info, api);
                if (!stored.IsSuccess)
                {
                    yield return Failed(stored.Error, reader.Info.Truncation);
                    yield break;
                }

                _events.Answer = (itemId, plan.AnswerLogprobs);
                for (var index = firstIndex; index < stored.Value.Output.Count; index++)
                {
                    var output = stored.Value.Output[index];
                    if (announced.Contains(output.Id))
                    {
                        continue;
                    }

                    foreach (var item in _events.Of(output, index, announce: !messageStarted))
                    {
                        yield return item;
                    }
                }

                yield return Event(Finished(stored.Value), new { response = plan.ToJson(stored.Value) });
                yield break;
            }
        }
    }

    /// <summary>An idempotent retry of a finished response: the events its items make, at once.</summary>
    public static async IAsyncEnumerable<SseItem<string>> Replay(StoredResponse response)
    {
        var json = ResponseJson.From(response, store: true);
        var events = new ItemEvents();
        yield return events.Event("response.created", new { response = json });
        for (var index = 0; index < response.Output.Count; index++)
        {
            foreach (var item in events.Of(response.Output[index], index, announce: true))
            {
                yield return item;
            }
        }

        yield return events.Event(Finished(response), new { response = json });
        await Task.CompletedTask;
    }

    /// <summary>
    /// <c>GET /v1/responses/{id}?stream=true&amp;starting_after=N</c>: a stored response's events after sequence number
    /// <paramref name="startingAfter"/>, the same numbers on every read: created, in progress, and once it has finished (read
    /// again every <paramref name="poll"/> until then) its output items and its last event. A cancelled response ends after
    /// <c>response.in_progress</c> (OpenAI's stream has no event for it).
    /// </summary>
    public static async IAsyncEnumerable<SseItem<string>> Resume(
        StoredResponse current, Func<Task<Result<StoredResponse>>> read, int startingAfter, TimeSpan poll, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var events = new ItemEvents();
        var sequence = -1;
        var before = current with { Output = [] }; // created and in progress as they were, whenever they are read
        var created = events.Event("response.created", new { response = ResponseJson.From(before, store: true, status: "queued") });
        if (++sequence > startingAfter)
        {
            yield return created;
        }

        var announced = false;
        while (true)
        {
            if (!announced && current.Status != "queued")
            {
                announced = true;
                var started = events.Event("response.in_progress", new { response = ResponseJson.From(before, store: true, status: "in_progress") });
                if (++sequence > startingAfter)
                {
                    yield return started;
                }
            }

            if (current.IsFinished)
            {
                break;
            }

            await Task.Delay(poll, cancellationToken);
            var next = await read();
            if (!next.IsSuccess)
            {
                yield break; // deleted meanwhile
            }

            current = next.Value;
        }

        if (current.Status == "cancelled")
        {
            yield break;
        }

        var rest = new List<SseItem<string>>();
        for (var index = 0; index < current.Output.Count; index++)
        {
            rest.AddRange(events.Of(current.Output[index], index, announce: true));
        }

        rest.Add(events.Event(current.Status == "failed" ? "response.failed" : Finished(current), new { response = ResponseJson.From(current, store: true) }));
        foreach (var item in rest)
        {
            if (++sequence > startingAfter)
            {
                yield return item;
            }
        }
    }

    /// <summary>The last event of a response that finished: <c>response.incomplete</c> when it was cut short.</summary>
    private static string Finished(StoredResponse response) => response.Status == "incomplete" ? "response.incomplete" : "response.completed";

    private sealed class ClaimRelease(ResponsePlan plan) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await plan.ReleaseClaim();
    }

    private SseItem<string> Failed(GatewayError error, bool? truncation) => Event("response.failed", new { response = plan.Failed(error, truncation) });

    private SseItem<string> Event<T>(string type, T payload) => _events.Event(type, payload);

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

    /// <summary>Numbers events and writes an output item's events: a message's text events, or a function call's.</summary>
    private sealed class ItemEvents
    {
        private int _sequence;

        /// <summary>The model's message and its log probabilities, written on its done events when they were asked for.</summary>
        public (string ItemId, IReadOnlyList<TokenLogprob>? Logprobs)? Answer { get; set; }

        public SseItem<string> Event<T>(string type, T payload) => Format(type, payload, _sequence++);

        public IEnumerable<SseItem<string>> Of(ConversationItem output, int index, bool announce) =>
            Ids.IsCompaction(output.Id) ? CompactionEvents(output, index)
            : output.Mcp is { } mcp ? McpEvents(output, mcp, index)
            : output.Call is { } call ? CallEvents(output, call, index)
            : MessageEvents(output, index, announce);

        /// <summary>A compaction item is made whole: added and done at once.</summary>
        private IEnumerable<SseItem<string>> CompactionEvents(ConversationItem output, int index)
        {
            yield return Event("response.output_item.added", new { output_index = index, item = ItemJson.From(output) });
            yield return Event("response.output_item.done", new { output_index = index, item = ItemJson.From(output) });
        }

        public IEnumerable<SseItem<string>> MessageStarted(string itemId, int index = 0)
        {
            yield return Event("response.output_item.added", new
            {
                output_index = index,
                item = new { id = itemId, type = ItemKinds.Message, status = "in_progress", role = Roles.Assistant, content = Array.Empty<object>() },
            });
            yield return Event("response.content_part.added", new
            {
                item_id = itemId, output_index = index, content_index = ContentIndex, part = TextPartJson.Output(string.Empty),
            });
        }

        private IEnumerable<SseItem<string>> MessageEvents(ConversationItem output, int index, bool announce)
        {
            if (announce)
            {
                foreach (var started in MessageStarted(output.Id, index))
                {
                    yield return started;
                }
            }

            var logprobs = Answer is { Logprobs: { } tokens } answer && answer.ItemId == output.Id ? tokens : null;
            var part = TextPartJson.Output(output.Text, logprobs);
            yield return Event("response.output_text.done", new
            {
                item_id = output.Id, output_index = index, content_index = ContentIndex, text = output.Text, logprobs = part.Logprobs,
            });
            yield return Event("response.content_part.done", new { item_id = output.Id, output_index = index, content_index = ContentIndex, part });
            var item = ItemJson.From(output);
            yield return Event("response.output_item.done", new { output_index = index, item = logprobs is not null && item is MessageItemJson message ? message.WithLogprobs(logprobs) : item });
        }

        /// <summary>A function call's events; providers hand calls over whole, so its arguments are one delta.</summary>
        private IEnumerable<SseItem<string>> CallEvents(ConversationItem output, FunctionCall call, int index)
        {
            yield return Event("response.output_item.added", new
            {
                output_index = index,
                item = (ItemJson)new FunctionCallItemJson(output.Id, "in_progress", call.CallId, call.Name, string.Empty),
            });
            yield return Event("response.function_call_arguments.delta", new { item_id = output.Id, output_index = index, delta = call.Arguments });
            yield return Event("response.function_call_arguments.done", new { item_id = output.Id, output_index = index, name = call.Name, arguments = call.Arguments });
            yield return Event("response.output_item.done", new { output_index = index, item = ItemJson.From(output) });
        }

        /// <summary>
        /// A hosted MCP item's events, as OpenAI names them, written once the item is complete: a tool list's
        /// (<c>response.mcp_list_tools.*</c>), or a call's (<c>response.mcp_call.*</c>, its arguments as one delta).
        /// </summary>
        private IEnumerable<SseItem<string>> McpEvents(ConversationItem output, Conversations.Mcp.McpItem mcp, int index)
        {
            var listing = mcp.Type == Conversations.Mcp.McpItem.ListTools;
            var kind = listing ? "response.mcp_list_tools" : "response.mcp_call";
            yield return Event("response.output_item.added", new
            {
                output_index = index,
                item = listing
                    ? (ItemJson)new McpListToolsItemJson(output.Id, "in_progress", mcp.ServerLabel, [], null)
                    : new McpCallItemJson(output.Id, "in_progress", mcp.ServerLabel, mcp.Name ?? string.Empty, string.Empty, null, null),
            });
            yield return Event(kind + ".in_progress", new { item_id = output.Id, output_index = index });
            if (!listing)
            {
                yield return Event("response.mcp_call_arguments.delta", new { item_id = output.Id, output_index = index, delta = mcp.Arguments ?? "{}" });
                yield return Event("response.mcp_call_arguments.done", new { item_id = output.Id, output_index = index, arguments = mcp.Arguments ?? "{}" });
            }

            yield return Event(kind + (mcp.Error is null ? ".completed" : ".failed"), new { item_id = output.Id, output_index = index });
            yield return Event("response.output_item.done", new { output_index = index, item = ItemJson.From(output) });
        }
    }
}
