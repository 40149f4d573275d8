using System.Text.Json;
using Conversations.Api.Errors;
using Microsoft.AspNetCore.Http;

namespace Conversations.Api.Endpoints;

/// <summary>
/// A validated <c>POST /v1/responses</c>: where its context comes from, the ids chosen for it, and
/// how to store it once the model has answered.
/// </summary>
internal sealed partial class ResponsePlan
{
    /// <summary>The response metadata key that lists the knowledge chunks (<c>{kb}/{doc}#{n}</c>) the model was given.</summary>
    public const string CitationsKey = StoredResponse.CitationsKey;

    private IIdempotencyGrain? _claim;
    private int _keptFrom;

    private ResponsePlan(
        ResponseCreateJson body, string model, string? conversationId, List<ConversationItem> input, List<NewItem> history, DateTimeOffset createdAt,
        Idempotency? idempotency, Context.ContextPolicy? policy, (List<ToolDefinition>? Tools, ToolChoice? Choice) tools, OutputFormat? format, string? endUser)
    {
        EndUser = endUser;
        Format = format;
        Tools = tools.Tools;
        ToolChoice = tools.Choice;
        Policy = policy;
        Idempotency = idempotency;
        Body = body;
        Model = model;
        ConversationId = conversationId;
        Input = input;
        History = history;
        CreatedAt = createdAt;
    }

    public string ResponseId { get; } = Ids.New(Ids.Response);

    public string OutputItemId { get; } = Ids.New(Ids.Message);

    public ResponseCreateJson Body { get; }

    public string Model { get; }

    public string? ConversationId { get; }

    public List<ConversationItem> Input { get; }

    /// <summary>Items of the <c>previous_response_id</c> chain, oldest first (empty otherwise), as the model is given them.</summary>
    public List<NewItem> History { get; }

    /// <summary>The request's <c>mcp</c> tools, whose calls the gateway makes (<see cref="Mcp.HostedMcpLoop"/>).</summary>
    public IReadOnlyList<Mcp.HostedMcpServer> HostedMcp { get; private init; } = [];

    /// <summary>The outputs of the <c>previous_response_id</c> chain as stored (a tool list found there is reused).</summary>
    private IReadOnlyList<ConversationItem> ChainOutput { get; init; } = [];

    /// <summary>The alternatives per token asked for with the answer's log probabilities (<c>include</c>); <c>null</c>: none.</summary>
    public int? Logprobs { get; private init; }

    /// <summary>The answer's log probabilities, once the model has answered with them; they are not stored with the response.</summary>
    public IReadOnlyList<TokenLogprob>? AnswerLogprobs { get; private set; }

    /// <summary>The running tool loop of a response with <see cref="HostedMcp"/> tools, once started.</summary>
    public Mcp.HostedMcpLoop? McpLoop { get; private set; }

    public DateTimeOffset CreatedAt { get; }

    /// <summary>The end user the call is made for (<c>user</c>, or the end-user header).</summary>
    public string? EndUser { get; }

    public bool Store => Body.Store ?? true;

    public Idempotency? Idempotency { get; }

    /// <summary>The functions the model may call, and whether it may or must.</summary>
    public List<ToolDefinition>? Tools { get; }

    public ToolChoice? ToolChoice { get; }

    /// <summary>The answer's format (<c>text.format</c>); plain text when <c>null</c>.</summary>
    public OutputFormat? Format { get; }

    /// <summary>The tokens above which the context is compacted in line (<c>context_management</c>), if set.</summary>
    public int? CompactThreshold { get; private init; }

    /// <summary>The compaction item made in line for this response (<see cref="InlineCompaction"/>), if any.</summary>
    public ConversationItem? Compaction { get; private set; }

    /// <summary>The request's own context policy (<c>context_policy</c> and <c>truncation</c>), for a conversation turn; a stateless response uses its knowledge fields.</summary>
    public Context.ContextPolicy? Policy { get; }

    /// <summary>Starts the model call: a conversation turn, or a stateless call over the assembled context.</summary>
    public IAsyncEnumerable<CompletionChunk> Start(ApiServices api) => ConversationId is { } conversation
        ? api.Conversation(conversation).RunTurn(Turn(api) with { Response = Store ? ToStored([], new TokenUsage(0, 0), "in_progress") : null }, api.Aborted)
        : HostedMcp.Count > 0
            ? (McpLoop = new Mcp.HostedMcpLoop(HostedMcp, ChainOutput, ResponseId, OutputItemId, api)).Run(Stateless(api), api.Aborted)
            : api.Inference.Complete(Stateless(api), api.Aborted);

    /// <summary>The prompt tokens the model call would send (<c>POST /v1/responses/input_tokens</c>), its context built as <see cref="Start"/> builds it.</summary>
    public Task<Result<int>> CountInputTokens(ApiServices api) => ConversationId is { } conversation
        ? api.Conversation(conversation).CountInputTokens(Turn(api), api.Aborted)
        : api.Inference.CountInputTokens(Stateless(api), api.Aborted);

    /// <summary>
    /// The work of a <c>background: true</c> response, to run without this request: stored as <c>queued</c>; a turn keyed by
    /// the response id, so that a second run after a crash replays the turn instead of appending it again.
    /// </summary>
    public BackgroundResponseWork Background(ApiServices api)
    {
        var queued = ToStored(Compacted(), new TokenUsage(0, 0), "queued") with { Background = true };
        return ConversationId is null
            ? new BackgroundResponseWork(queued, OutputItemId, null, Stateless(api))
            : new BackgroundResponseWork(queued, OutputItemId, Turn(api) with { Idempotency = new Idempotency(ResponseId, ResponseId) }, null);
    }

    private TurnRequest Turn(ApiServices api) => new(ResponseId, OutputItemId, Input, Body.Instructions, Options(api), Idempotency, Policy, CompactThreshold: CompactThreshold);

    /// <summary>
    /// A call without a conversation: the instructions, then the <c>previous_response_id</c> chain's items and the input from
    /// their latest compaction item on; after a compaction in line, that item and the current turn.
    /// </summary>
    private CompletionRequest Stateless(ApiServices api)
    {
        var items = ContextItems();
        var context = new List<NewItem>(items.Count + 2);
        if (Body.Instructions is { Length: > 0 } instructions)
        {
            context.Add(new NewItem(Roles.System, instructions));
        }

        if (Compaction is { } compaction)
        {
            context.Add(compaction.ToNew());
        }

        var start = Compaction is null ? InlineCompaction.Start(items) : _keptFrom;
        context.AddRange(items.Skip(start));
        return Options(api) with { Messages = context };
    }

    /// <summary>The chain's items, then the input, oldest first.</summary>
    public List<NewItem> ContextItems() => [.. History, .. Input.Select(item => item.ToNew())];

    /// <summary>The context was compacted into <paramref name="compaction"/>; the call sends the items from <paramref name="keptFrom"/> on after it.</summary>
    public void Compacted(ConversationItem compaction, int keptFrom) => (Compaction, _keptFrom) = (compaction, keptFrom);

    private List<ConversationItem> Compacted() => Compaction is { } compaction ? [compaction] : [];

    private CompletionRequest Options(ApiServices api) =>
        new(Model, [], Body.Temperature, Body.MaxOutputTokens, Body.TopP, EndUser, api.Caller, Body.Stream == true)
        {
            Tools = Tools,
            ToolChoice = ToolChoice,
            ParallelToolCalls = Body.ParallelToolCalls,
            Format = Format,
            Knowledge = ConversationId is null ? Policy : null, // a stateless response retrieves by its own policy over the tenant's
            CacheControl = api.CacheControl,
            DropOldestToFit = ConversationId is null && Policy?.Truncation == true, // a turn's context builder truncates by its own policy
            Logprobs = Logprobs,
        };

    /// <summary>
    /// Claims the idempotency key of a request without a conversation (a conversation deduplicates its
    /// own turns, atomically with appending them). Without a key, every request is claimed.
    /// </summary>
    public async Task<Result<IdempotencyClaim>> Claim(ApiServices api)
    {
        if (Idempotency is not { } idempotency || ConversationId is not null)
        {
            return new IdempotencyClaim(IdempotencyOutcome.Claimed);
        }

        _claim = api.Grains.GetGrain<IIdempotencyGrain>(GrainKeys.For(api.Tenant, idempotency.Key));
        return await _claim.Claim(idempotency.Fingerprint);
    }

    /// <summary>Builds the stored response from the model's result and stores it when <c>store</c> is on.</summary>
    public async Task<Result<StoredResponse>> Complete(CompletionResult result, CallInfo info, ApiServices api)
    {
        // A conversation turn's items come from the conversation; a stateless call's are made here (their token counts are not needed).
        // A turn has stored this same record beside its own write (decision 0077); a stateless call's is stored here.
        var response = ToStored(Compacted(), new TokenUsage(0, 0), "in_progress").Finish(result, info, OutputItemId, api.Clock.GetUtcNow());
        AnswerLogprobs = Logprobs is null ? null : result.Logprobs;
        var stored = Store && ConversationId is null ? await api.Response(ResponseId).Save(response) : response;
        if (_claim is not null)
        {
            // A key left claimed (its grain logged why) lapses; the client still gets the response it paid for.
            _ = await (stored.IsSuccess ? _claim.Complete(ResponseId) : _claim.Release());
            _claim = null;
        }

        return stored;
    }

    /// <summary>
    /// Rebuilds and stores the response of a turn from the items it appended to its conversation: <paramref name="written"/>
    /// (what the model wrote, as the conversation remembered it) is the output, the rest the input.
    /// </summary>
    public async Task<Result<StoredResponse>> Rebuild(string responseId, string conversationId, IReadOnlyList<ConversationItem>? written, ApiServices api)
    {
        if (written is not { Count: > 0 })
        {
            return GatewayError.NotFound("response", responseId); // the conversation no longer holds what the model wrote
        }

        var page = await api.Conversation(conversationId).ListItems(new ItemQuery(null, ItemQuery.MaxLimit, Ascending: false));
        var ids = written.Select(item => item.Id).ToHashSet(StringComparer.Ordinal);
        List<ConversationItem> input = [.. page.Value?.Items.Where(item => item.ResponseId == responseId && !ids.Contains(item.Id)).Reverse() ?? []];
        var rebuilt = ToStored([.. written], new TokenUsage(0, written.Sum(item => item.Tokens)), "completed") with
        {
            Id = responseId,
            Input = input,
            CreatedAt = (input.Count > 0 ? input[0] : written[0]).CreatedAt,
        };
        var saved = await api.Response(responseId).Save(rebuilt);
        return saved.IsSuccess || saved.Error.Status == 409 ? rebuilt : saved;
    }

    /// <summary>The call failed: a retry with the same key may run it again.</summary>
    public async Task<IResult> Fail(GatewayError error, ApiServices api)
    {
        await ReleaseClaim();
        return error.ToResult();
    }

    /// <summary>Frees the idempotency key unless the response completed; safe to call on every path, more than once.</summary>
    public async Task ReleaseClaim()
    {
        if (Interlocked.Exchange(ref _claim, null) is { } claim)
        {
            _ = await claim.Release(); // a key left claimed lapses
        }
    }

    public ResponseJson ToJson(StoredResponse response, string? status = null, ResponseErrorJson? error = null) =>
        ResponseJson.From(response, Store, status, error).WithLogprobs(OutputItemId, AnswerLogprobs);

    /// <param name="truncation">A conversation turn's effective truncation, when its first chunk said it.</param>
    public ResponseJson InProgress(bool? truncation = null) => ToJson(WithoutOutput("in_progress", truncation), "in_progress");

    /// <param name="truncation">As for <see cref="InProgress"/>.</param>
    public ResponseJson Failed(GatewayError error, bool? truncation = null) =>
        ToJson(WithoutOutput("failed", truncation), "failed", ResponseErrorJson.From(error));

    private StoredResponse WithoutOutput(string status, bool? truncation)
    {
        var stored = ToStored([], new TokenUsage(0, 0), status);
        return truncation is null ? stored : stored with { Truncation = truncation };
    }

    private StoredResponse ToStored(List<ConversationItem> output, TokenUsage usage, string status) => new(
        ResponseId,
        CreatedAt,
        Model,
        Body.Instructions,
        [.. Input.Select(item => item.Parts is null ? item : item with { Parts = [.. item.Parts.Select(part => part.Stored())] })], // a stored response keeps no bytes
        output,
        usage,
        Body.PreviousResponseId,
        ConversationId,
        Body.Metadata ?? new Dictionary<string, string>(StringComparer.Ordinal),
        Body.Temperature,
        Body.MaxOutputTokens,
        Body.TopP,
        status,
        Body.User,
        Tools,
        ToolChoice,
        Body.ParallelToolCalls,
        Format,
        ConversationId is null ? Policy?.Truncation == true : Policy?.Truncation ?? true); // a turn's final value comes from its conversation
}
