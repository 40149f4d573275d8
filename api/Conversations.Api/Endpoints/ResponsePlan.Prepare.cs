using System.Text.Json;
using Conversations.Api.Errors;

namespace Conversations.Api.Endpoints;

/// <summary>Reading a <c>POST /v1/responses</c> body into a plan: every field checked, the chain and prompt resolved.</summary>
internal sealed partial class ResponsePlan
{
    public static async Task<Result<ResponsePlan>> Prepare(ResponseCreateJson request, ApiServices api, Idempotency? idempotency)
    {
        var prompted = await PromptReference.Apply(request, api);
        if (!prompted.IsSuccess)
        {
            return prompted.Error;
        }

        var body = prompted.Value;
        if (string.IsNullOrWhiteSpace(body.Model))
        {
            return GatewayError.Invalid("Missing required parameter: 'model'.", "model", "missing_required_parameter");
        }

        var conversationId = ReadConversationId(body.Conversation);
        if (!conversationId.IsSuccess)
        {
            return conversationId.Error;
        }

        if (conversationId.Value is not null && body.PreviousResponseId is not null)
        {
            return GatewayError.Invalid(
                "'previous_response_id' cannot be used together with 'conversation'.", "previous_response_id", "mutually_exclusive_parameters");
        }

        if ((Metadata.Validate(body.Metadata) ?? Sampling.Validate(body.Temperature, body.TopP, body.MaxOutputTokens, "max_output_tokens")) is { } invalid)
        {
            return invalid;
        }

        var include = ResponseIncludes.Read(body.Include);
        if (!include.IsSuccess)
        {
            return include.Error;
        }

        var logprobs = Sampling.Logprobs(include.Value.Contains(ResponseIncludes.OutputTextLogprobs), body.TopLogprobs, needsSwitch: false);
        if (!logprobs.IsSuccess)
        {
            return logprobs.Error;
        }

        var hosted = new List<Mcp.HostedMcpServer>();
        var tools = ToolCalls.Read(body.Tools, body.ToolChoice, nested: false, hosted);
        var format = OutputFormats.Read(body.Text?.Format, "text.format", nested: false);
        if (!tools.IsSuccess || !format.IsSuccess)
        {
            return tools.Error ?? format.Error!;
        }

        var compaction = InlineCompaction.ReadThreshold(body.ContextManagement);
        if (!compaction.IsSuccess)
        {
            return compaction.Error;
        }

        if (hosted.Count > 0 && conversationId.Value is not null)
        {
            return GatewayError.Invalid("Tools of type 'mcp' cannot be used with 'conversation' yet; chain responses with 'previous_response_id'.", "tools", "unsupported_value");
        }

        var policy = body.ContextPolicy?.ToPolicy("context_policy") ?? new Context.ContextPolicy();
        var truncation = ContextPolicyJson.ParseTruncation(body.Truncation, "truncation");
        if (!policy.IsSuccess || !truncation.IsSuccess)
        {
            return policy.Error ?? truncation.Error!;
        }

        if (conversationId.Value is null && ConversationOnly(policy.Value) is { } field)
        {
            // Without a conversation the client owns the context: only retrieval from knowledge bases applies.
            return GatewayError.Invalid($"'context_policy.{field}' applies to turns of a conversation; send 'conversation' with it.", $"context_policy.{field}", "invalid_value");
        }

        if (await KnowledgeBaseEndpoints.CheckPolicy(policy.Value, api, "context_policy") is { } unknown)
        {
            return unknown;
        }

        var read = ResponsesEndpoints.ReadInput(body.Input, api.Media);
        var endUser = api.EndUser(body.User);
        if (!read.IsSuccess || !endUser.IsSuccess)
        {
            return read.Error ?? endUser.Error!;
        }

        var input = await Media.FileParts.Resolve(read.Value, api);
        if (!input.IsSuccess)
        {
            return input.Error;
        }

        // A turn's input becomes conversation items: each within the tenant's size for one.
        var single = body.Input is { ValueKind: JsonValueKind.String };
        if (conversationId.Value is not null && api.Caller.Storage.RefuseLargeItem(input.Value, i => single ? "input" : $"input[{i}]") is { } tooLarge)
        {
            return tooLarge;
        }

        if (conversationId.Value is { } conversation && !Ids.IsValid(conversation, Ids.Conversation))
        {
            return GatewayError.NotFound("conversation", conversation, "conversation");
        }

        var history = new List<NewItem>();
        List<ConversationItem> chainOutput = [];
        if (body.PreviousResponseId is { } previous)
        {
            var chain = await ResponsesEndpoints.LoadChain(previous, api);
            if (!chain.IsSuccess)
            {
                return chain.Error;
            }

            history.AddRange(Conversations.Mcp.McpItem.ForModel(chain.Value.SelectMany(r => r.Input.Concat(r.Output))));
            chainOutput.AddRange(chain.Value.SelectMany(r => r.Output));
        }

        var now = api.Clock.GetUtcNow();
        var items = input.Value.Select(item => new ConversationItem(CompactionItemJson.Is(item) ? Ids.New(Ids.Compaction) : Ids.NewItem(item.Kind), item.Role, item.Text, 0, now, null, item.Call, item.CallId, item.Parts)).ToList();
        if (body.PreviousResponseId is not null)
        {
            // A chained response's calls and outputs follow the chain as a conversation's do, and the chain's last calls must be answered.
            List<ConversationItem> chained = [.. history.Select(item => new ConversationItem(string.Empty, item.Role, item.Text, 0, now, null, item.Call, item.CallId))];
            var waiting = ToolPairs.LeftWaiting(chained, items).FirstOrDefault();
            var unpaired = ToolPairs.Check(chained, items)
                ?? (waiting is null ? null : GatewayError.Invalid($"No tool output found for function call {waiting}.", "input", "invalid_value"));
            if (unpaired is not null)
            {
                return unpaired;
            }
        }

        return new ResponsePlan(body, body.Model, conversationId.Value, items, history, now, idempotency,
            policy.Value with { Truncation = truncation.Value ?? policy.Value.Truncation }, tools.Value, format.Value, endUser.Value)
        {
            CompactThreshold = compaction.Value,
            Logprobs = logprobs.Value,
            HostedMcp = hosted,
            ChainOutput = chainOutput,
        };
    }

    /// <summary>The first field of <paramref name="policy"/> that only a conversation turn can use, if any.</summary>
    private static string? ConversationOnly(Context.ContextPolicy policy) =>
        policy.MaxTokens is not null ? "max_tokens"
        : policy.WindowTurns is not null ? "window_turns"
        : policy.StateTokens is not null ? "state_tokens"
        : policy.Summarizer is not null || policy.SummaryTokens is not null || policy.SummarizeAfterTokens is not null ? "summarizer"
        : policy.RecallTopK is not null || policy.RecallTokens is not null || policy.RecallMinScore is not null || policy.RecallSuperseded is not null ? "recall_top_k"
        : policy.Extractor is not null ? "extractor"
        : null;

    /// <summary><c>conversation</c> may be an id or <c>{"id": …}</c>.</summary>
    private static Result<string?> ReadConversationId(JsonElement? conversation) => conversation switch
    {
        null or { ValueKind: JsonValueKind.Null } => (string?)null,
        { ValueKind: JsonValueKind.String } id => id.GetString(),
        { ValueKind: JsonValueKind.Object } reference when reference.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String => id.GetString(),
        _ => GatewayError.Invalid("Invalid 'conversation': expected a conversation id or an object with an 'id'.", "conversation", "invalid_type"),
    };
}
