using Conversations.Tenancy;

namespace Conversations;

/// <summary>
/// A model call as the gateway pipeline sees it: the full context plus sampling options. Without
/// <see cref="StreamDeltas"/> the call yields only its outcome: each streamed element costs a grain
/// round trip, which a client that waits for the whole answer does not need. <see cref="Knowledge"/>, on a
/// stateless call, asks for retrieval from knowledge bases (its own, over the tenant's default policy).
/// With <see cref="Format"/> the model is asked to answer JSON: any object, or one that follows a schema (OpenAI's <c>response_format</c>).
/// <see cref="StopSequences"/> end the answer where the model writes one (Anthropic's <c>stop_sequences</c>).
/// <see cref="Logprobs"/>, when set, asks for each output token's log probability with that many likeliest alternatives (0-20).
/// </summary>
[GenerateSerializer, Immutable, Alias("conv.CompletionRequest")]
public sealed record CompletionRequest(
    [property: Id(0)] string Model,
    [property: Id(1)] IReadOnlyList<NewItem> Messages,
    [property: Id(2)] float? Temperature = null,
    [property: Id(3)] int? MaxOutputTokens = null,
    [property: Id(4)] float? TopP = null,
    [property: Id(5)] string? EndUser = null,
    [property: Id(6)] Caller? Caller = null,
    [property: Id(7)] bool StreamDeltas = true,
    [property: Id(8)] string? Conversation = null,
    [property: Id(20)] IReadOnlyList<ToolDefinition>? Tools = null,
    [property: Id(21)] ToolChoice? ToolChoice = null,
    [property: Id(22)] bool? ParallelToolCalls = null,
    [property: Id(23)] Context.ContextPolicy? Knowledge = null,
    [property: Id(24)] OutputFormat? Format = null,
    [property: Id(25)] IReadOnlyList<string>? StopSequences = null,
    [property: Id(26)] Caching.CacheDirective CacheControl = Caching.CacheDirective.Default,
    [property: Id(27)] Guardrails.GuardrailReport? RetrievedGuardrails = null,
    [property: Id(28)] bool DropOldestToFit = false,
    [property: Id(29)] int? Logprobs = null)
{
    /// <summary>What sticky routing hashes: the end user, else the conversation.</summary>
    public string? StickyKey => EndUser ?? Conversation;

    /// <summary>What the tokenizer counts for the prompt: each message, and each tool the model is offered.</summary>
    public IEnumerable<string> PromptTexts => Messages.Select(m => m.CountedText).Concat(ToolTexts);

    /// <summary>What the tokenizer counts for the tools the model is offered, one text per tool.</summary>
    public IEnumerable<string> ToolTexts => (Tools ?? []).Select(t => $"{t.Name} {t.Description} {t.Parameters}");
}

/// <summary>
/// The shape of the answer: one JSON object (<see cref="JsonObject"/>), or JSON that follows
/// <see cref="Schema"/> (JSON Schema text) under <see cref="Name"/>. Plain text needs no format.
/// </summary>
[GenerateSerializer, Immutable, Alias("conv.OutputFormat")]
public sealed record OutputFormat(
    [property: Id(0)] string Type,
    [property: Id(1)] string? Name = null,
    [property: Id(2)] string? Schema = null,
    [property: Id(3)] string? Description = null,
    [property: Id(4)] bool? Strict = null)
{
    public const string JsonObjectType = "json_object";
    public const string JsonSchemaType = "json_schema";

    public static OutputFormat JsonObject { get; } = new(JsonObjectType);
}

/// <summary>
/// Whether the model may or must call a function: <c>auto</c>, <c>none</c>, <c>required</c> (some
/// function), or the one function named by <see cref="Function"/>.
/// </summary>
[GenerateSerializer, Immutable, Alias("conv.ToolChoice")]
public sealed record ToolChoice([property: Id(0)] string Mode, [property: Id(1)] string? Function = null)
{
    public const string Auto = "auto";
    public const string None = "none";
    public const string Required = "required";
}

/// <summary>
/// One element of a streamed model call, one of a closed set: <see cref="DeltaChunk"/>s of text, then exactly one
/// <see cref="FinalChunk"/> (the outcome) or <see cref="ErrorChunk"/> (the failure) to end the stream.
/// <see cref="Info"/> carries what the gateway learned about the call with this chunk (see <see cref="CallInfo"/>);
/// a reader merges it across the stream.
/// </summary>
[GenerateSerializer, Immutable, Alias("conv.CompletionChunk")]
public abstract record CompletionChunk
{
    private protected CompletionChunk()
    {
    }

    [Id(0)] public CallInfo? Info { get; init; }

    /// <summary>This chunk with <paramref name="change"/> applied to its info.</summary>
    public CompletionChunk With(Func<CallInfo, CallInfo> change) => this with { Info = change(Info ?? CallInfo.None) };
}

/// <summary>A piece of the answer's text, as the model streams it, with its tokens' log probabilities when they were asked for.</summary>
[GenerateSerializer, Immutable, Alias("conv.DeltaChunk")]
public sealed record DeltaChunk([property: Id(0)] string Text, [property: Id(1)] IReadOnlyList<TokenLogprob>? Logprobs = null) : CompletionChunk;

/// <summary>The outcome of a call that succeeded; the last chunk of its stream.</summary>
[GenerateSerializer, Immutable, Alias("conv.FinalChunk")]
public sealed record FinalChunk([property: Id(0)] CompletionResult Result) : CompletionChunk;

/// <summary>The failure that ended a call; the last chunk of its stream.</summary>
[GenerateSerializer, Immutable, Alias("conv.ErrorChunk")]
public sealed record ErrorChunk([property: Id(0)] GatewayError Error) : CompletionChunk;

/// <summary>
/// What the gateway did with a call beside answering it, one record for every stage: the quota
/// <see cref="Admission"/> (rate-limit status), the deployment that <see cref="Route"/>d it (and after how many
/// attempts), a conversation turn's effective <see cref="Truncation"/>, and the knowledge chunks
/// (<c>{kb}/{doc}#{n}</c>) its context <see cref="Citations"/> cites, what the response cache did (<see cref="Cache"/>,
/// under <see cref="CacheKey"/>, the hash an admin purges by), what the <see cref="Guardrails"/> found (gathered, not replaced), and the
/// <see cref="Compaction"/> item a conversation turn made in line (<c>cmp_…</c>), the response's first output. A stage sets its part on the first chunk
/// that passes it once the part is known; <see cref="Merge"/> gathers a stream's parts.
/// </summary>
[GenerateSerializer, Immutable, Alias("conv.CallInfo")]
public sealed record CallInfo(
    [property: Id(0)] Admission? Admission = null,
    [property: Id(1)] Routing.ServedBy? Route = null,
    [property: Id(2)] bool? Truncation = null,
    [property: Id(3)] IReadOnlyList<string>? Citations = null,
    [property: Id(4)] Caching.CacheOutcome? Cache = null,
    [property: Id(5)] string? CacheKey = null,
    [property: Id(20)] Guardrails.GuardrailReport? Guardrails = null,
    [property: Id(21)] ConversationItem? Compaction = null)
{
    public static CallInfo None { get; } = new();

    /// <summary>This info with what <paramref name="later"/> knows added (its values win where both have one).</summary>
    public CallInfo Merge(CallInfo? later) => later is null || later == None ? this : new(
        later.Admission ?? Admission, later.Route ?? Route, later.Truncation ?? Truncation, later.Citations ?? Citations,
        later.Cache ?? Cache, later.CacheKey ?? CacheKey, Conversations.Guardrails.GuardrailReport.Combine(Guardrails, later.Guardrails), later.Compaction ?? Compaction);
}

/// <summary>
/// The outcome of a successful model call: its text and the function calls it made (finish reason
/// <c>tool_calls</c>), priced (<see cref="CostUsd"/>). A conversation turn adds the <see cref="OutputItems"/> it stored;
/// <see cref="ReplayOf"/> is set when an idempotent retry found the turn already done: it names the response that the
/// first request produced. <see cref="Logprobs"/> are its text's tokens' log probabilities, when asked for and the provider gave them.
/// </summary>
[GenerateSerializer, Immutable, Alias("conv.CompletionResult")]
public sealed record CompletionResult(
    [property: Id(0)] string Text,
    [property: Id(1)] string FinishReason,
    [property: Id(2)] TokenUsage Usage,
    [property: Id(3)] string Model,
    [property: Id(8)] IReadOnlyList<ConversationItem>? OutputItems = null,
    [property: Id(5)] decimal CostUsd = 0,
    [property: Id(6)] string? ReplayOf = null,
    [property: Id(9)] IReadOnlyList<FunctionCall>? ToolCalls = null,
    [property: Id(10)] IReadOnlyList<TokenLogprob>? Logprobs = null)
{
    public IReadOnlyList<FunctionCall> Calls => ToolCalls ?? [];
}

/// <summary>An embeddings call (<c>POST /v1/embeddings</c>): routed and admitted like chat.</summary>
[GenerateSerializer, Immutable, Alias("conv.EmbeddingRequest")]
public sealed record EmbeddingRequest(
    [property: Id(0)] string Model,
    [property: Id(1)] IReadOnlyList<string> Inputs,
    [property: Id(2)] int? Dimensions = null,
    [property: Id(3)] string? EndUser = null,
    [property: Id(4)] Caller? Caller = null);

/// <summary>The vectors, in input order, with the tokens they consumed.</summary>
[GenerateSerializer, Immutable, Alias("conv.EmbeddingResult")]
public sealed record EmbeddingResult(
    [property: Id(0)] IReadOnlyList<float[]> Vectors,
    [property: Id(1)] int PromptTokens,
    [property: Id(2)] string Model,
    [property: Id(3)] decimal CostUsd);

/// <summary>An embeddings call's outcome (a result or an error), which deployment served it, and the admission status.</summary>
[GenerateSerializer, Immutable, Alias("conv.EmbeddingOutcome")]
public sealed record EmbeddingOutcome(
    [property: Id(0)] EmbeddingResult? Result,
    [property: Id(1)] GatewayError? Error,
    [property: Id(2)] Routing.ServedBy? Route = null,
    [property: Id(3)] Admission? Admission = null);
