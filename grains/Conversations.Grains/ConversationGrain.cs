using System.Runtime.CompilerServices;
using Conversations.Context;
using Conversations.Grains.Context;
using Conversations.Grains.Memory;
using Conversations.Memory;
using Conversations.Providers;
using Conversations.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains;

/// <summary>
/// One conversation. Orleans runs one activation per key in the whole cluster; <see cref="_writeGate"/>
/// additionally orders turns (which stream, and so interleave with other calls) and writes, so the
/// history stays linear whoever writes. Reads are <c>[AlwaysInterleave]</c> and never wait for a turn.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "A SemaphoreSlim whose wait handle is never read holds no unmanaged resource.")]
public sealed partial class ConversationGrain(
    [PersistentState(ConversationStore.HeadName, StorageNames.Conversations)] IPersistentState<ConversationState> head,
    ChatPipeline pipeline,
    ContextBuilder context,
    Conversations.Grains.Memory.IVectorStore vectors,
    Microsoft.Extensions.AI.IEmbeddingGenerator<string, Microsoft.Extensions.AI.Embedding<float>> embeddings,
    TokenCounter tokens,
    TimeProvider clock,
    Microsoft.Extensions.Options.IOptions<SummaryOptions> summaryOptions,
    Microsoft.Extensions.Options.IOptions<ConversationStorageOptions> storageOptions,
    ILogger<ConversationGrain> logger) : Grain, IConversationGrain, IIncomingGrainCallFilter
{
    private readonly SemaphoreSlim _writeGate = new(1, 1);

    private ConversationStore? _store;
    private BackgroundWork<SummaryJob>? _summaries;
    private BackgroundWork<ExtractionJob>? _extractions;
    private IGrainTimer? _indexTimer;
    private IGrainTimer? _leftoverTimer;
    private int _leftoverAttempts;
    private bool _indexing;
    private bool _indexAgain;

    /// <summary>The state before a write in progress: interleaved reads see only what storage has confirmed.</summary>
    private ConversationState? _writing;

    private ConversationStore state => _store ??= new(
        head, ServiceProvider.GetRequiredKeyedService<Orleans.Storage.IGrainStorage>(StorageNames.Conversations), this.GetGrainId(), logger, storageOptions.Value.SealItemPages);

    private ConversationState Durable => _writing ?? state.State;

    private string ConversationId => GrainKeys.Parse(this.GetPrimaryKeyString()).Id;

    private GatewayError NotFound => GatewayError.NotFound("conversation", ConversationId);

    private BackgroundWork<SummaryJob> SummaryWork => _summaries ??= new(this, Summarize, LogSummaryFailed, summaryOptions.Value);

    private BackgroundWork<ExtractionJob> ExtractionWork => _extractions ??= new(this, Extract, LogExtractionFailed, summaryOptions.Value);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        await state.Load();
        if (state.Missing.Count > 0)
        {
            LogDamaged(ConversationId, state.Missing);
            return;
        }

        ClearLeftoversAfter(TimeSpan.Zero);
    }

    /// <summary>A conversation whose pages storage has lost answers nothing but a delete (a 500 for the rest).</summary>
    public Task Invoke(IIncomingGrainCallContext context) =>
        state.Missing.Count > 0 && (context.InterfaceMethod.DeclaringType == typeof(IConversationGrain) ? context.InterfaceMethod.Name != nameof(Delete) : context.InterfaceMethod.Name == "StartEnumeration")
            ? throw new InvalidOperationException($"Conversation {this.GetPrimaryKeyString()} is damaged: storage has lost item pages it references. It can only be deleted.")
            : context.Invoke();

    public async Task<Result<ConversationInfo>> Create(IReadOnlyDictionary<string, string> metadata, IReadOnlyList<NewItem> items, ContextPolicy? policy = null)
    {
        using var gate = await Gate.Enter(_writeGate, CancellationToken.None);
        if (state.State.Exists)
        {
            return GatewayError.Conflict($"Conversation '{ConversationId}' already exists.", "conversation_exists");
        }

        var created = new ConversationState
        {
            Id = ConversationId,
            CreatedAt = clock.GetUtcNow(),
            Metadata = new(metadata, StringComparer.Ordinal),
            Items = [.. items.Select(ToItem)],
            Policy = policy,
        };
        if (await Persist(created) is { } failure)
        {
            return failure;
        }

        IndexIfRecalling();
        return created.ToInfo();
    }

    public Task<Result<ConversationInfo>> Get() =>
        Task.FromResult(Durable.Exists ? Durable.ToInfo() : (Result<ConversationInfo>)NotFound);

    public async Task<Result<ConversationInfo>> Update(IReadOnlyDictionary<string, string>? metadata, PolicyChange? policy)
    {
        using var gate = await Gate.Enter(_writeGate, CancellationToken.None);
        if (!state.State.Exists)
        {
            return NotFound;
        }

        var updated = state.State with
        {
            Metadata = metadata is null ? state.State.Metadata : new(metadata, StringComparer.Ordinal),
            Policy = policy is null ? state.State.Policy : policy.Policy,
        };
        return await Persist(updated) ?? (Result<ConversationInfo>)updated.ToInfo();
    }

    public async Task<Result<ConversationInfo>> Delete()
    {
        using var gate = await Gate.Enter(_writeGate, CancellationToken.None);
        if (!state.State.Exists)
        {
            // A delete cut short after its item pages were listed for clearing: this one finishes the clearing.
            return state.State.Unreferenced.Count > 0 && await state.TryClear() is { } unfinished ? StorageFailed(unfinished) : NotFound;
        }

        var deleted = state.State.ToInfo();
        try
        {
            // Vectors first: if clearing the conversation then fails before its pages are listed, a retried delete still finds it.
            await VectorIndex().Clear();
            if (await state.TryClear() is { } failure)
            {
                return StorageFailed(failure);
            }
        }
        catch (Exception exception)
        {
            return StorageFailed(exception);
        }

        DeactivateOnIdle();
        return deleted;
    }

    public async Task<Result<IReadOnlyList<ConversationItem>>> AddItems(IReadOnlyList<NewItem> items, Idempotency? idempotency = null)
    {
        using var gate = await Gate.Enter(_writeGate, CancellationToken.None);
        if (!state.State.Exists)
        {
            return NotFound;
        }

        if (idempotency is not null && state.State.FindIdempotent(idempotency.Key) is { } seen)
        {
            return seen.Fingerprint != idempotency.Fingerprint
                ? GatewayError.IdempotencyKeyReused
                : state.State.Items.Where(item => seen.ItemIds.Contains(item.Id)).ToList();
        }

        var added = items.Select(ToItem).ToList();
        var next = state.State.Append(added).Remember(idempotency, null, added.Select(item => item.Id));
        if (await Persist(next) is { } failure)
        {
            return failure;
        }

        IndexIfRecalling();
        return added;
    }

    public Task<Result<ItemPage>> ListItems(ItemQuery query) =>
        Task.FromResult(Durable.Exists ? query.Apply(Durable.Items) : NotFound);

    public Task<Result<ConversationItem>> GetItem(string itemId) => Task.FromResult(
        !Durable.Exists ? NotFound
        : Durable.Items.Find(item => item.Id == itemId) is { } item ? item
        : (Result<ConversationItem>)GatewayError.NotFound("item", itemId));

    public async Task<Result<ConversationInfo>> DeleteItem(string itemId)
    {
        using var gate = await Gate.Enter(_writeGate, CancellationToken.None);
        if (!state.State.Exists)
        {
            return NotFound;
        }

        if (!state.State.Items.Exists(item => item.Id == itemId))
        {
            return GatewayError.NotFound("item", itemId);
        }

        var updated = state.State.WithoutItem(itemId);
        if (await Persist(updated) is { } failure)
        {
            return failure;
        }

        try
        {
            await VectorIndex().DeleteSource(itemId);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogIndexingFailed(exception);
            ScheduleIndexing(); // the indexer's reconciliation removes the orphaned vectors
        }

        return updated.ToInfo();
    }

    public async IAsyncEnumerable<CompletionChunk> RunTurn(TurnRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var gate = await Gate.Enter(_writeGate, cancellationToken);
        if (!state.State.Exists)
        {
            yield return CompletionChunk.Failed(NotFound);
            yield break;
        }

        if (request.Idempotency is { } idempotency && state.State.FindIdempotent(idempotency.Key) is { } seen)
        {
            // A retry of a turn that already happened: answer with its outcome, call no model, append nothing.
            yield return seen.Fingerprint != idempotency.Fingerprint || seen.ResponseId is null
                ? CompletionChunk.Failed(GatewayError.IdempotencyKeyReused)
                : CompletionChunk.Done(new CompletionResult(string.Empty, "stop", new TokenUsage(0, 0), request.Options.Model, ReplayOf: seen.ResponseId)
                {
                    // What the model wrote, so that a response record lost with the first attempt is rebuilt exactly.
                    OutputItems = seen.Outputs > 0 ? state.State.Items.FindAll(item => seen.ItemIds.TakeLast(seen.Outputs).Contains(item.Id)) : null,
                });
            yield break;
        }

        var input = request.Input.Select(item => item with { Tokens = tokens.Count(item.CountedText) }).ToList();
        if (ToolPairs.Check(state.State.Items, input) is { } unpaired)
        {
            yield return CompletionChunk.Failed(unpaired);
            yield break;
        }

        var policy = Policy(request.Policy, request.Options.Caller?.TenantContextPolicy);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var (recalled, knowledge) = policy.Recalls || policy.Retrieves ? await Remember(input, policy, cancellationToken) : ([], []);
        var remembering = System.Diagnostics.Stopwatch.GetElapsedTime(started);

        // The context is built once the route is known: its deployments' windows set the budget, less what the tools take.
        var toolTokens = request.Options.Tools is null ? 0 : tokens.CountPrompt(request.Options.ToolTexts) - TokenCounter.MessageOverhead;
        BuiltContext? built = null;
        Result<CompletionRequest> Shape(RoutePlan plan)
        {
            var building = System.Diagnostics.Stopwatch.GetTimestamp();
            using var _ = ContextMetrics.Time(remembering, building);
            var shaped = context.Build(new ContextInputs(
                request.Instructions, state.State.Facts, state.State.Items, input,
                Math.Max(0, ContextBudget.For(plan.Deployments, request.Options.MaxOutputTokens, policy) - toolTokens), policy, state.State.Summary, recalled, knowledge));
            built = shaped.Value;
            return shaped.IsSuccess ? request.Options with { Messages = shaped.Value.Messages } : shaped.Error;
        }

        CompletionResult? result = null;
        Conversations.Tenancy.Admission? admission = null;
        ServedBy? route = null;
        var first = true;
        await foreach (var chunk in pipeline.Run(request.Options with { Conversation = this.GetPrimaryKeyString() }, Shape, cancellationToken))
        {
            if (chunk.Final is not null)
            {
                result = chunk.Final;
                admission = chunk.Admission;
                route = chunk.Route;
                break;
            }

            yield return first ? chunk with { Truncation = policy.Truncation } : chunk;
            first = false;
            if (chunk.Error is not null)
            {
                yield break;
            }
        }

        if (result is null)
        {
            yield break;
        }

        // The turn is acknowledged only after its items are durable.
        var output = OutputItems.Of(result, request.OutputItemId, request.ResponseId, clock.GetUtcNow(), tokens.Count);
        var stored = input.Select(item => item with { ResponseId = request.ResponseId }).Concat(output).ToList();
        var failure = await Persist(state.State.Append(stored).Remember(request.Idempotency, request.ResponseId, stored.Select(item => item.Id), output.Count));
        if (failure is null && built is not null)
        {
            ScheduleSummary(policy, request.Options.Caller, built);
        }

        if (failure is null && policy.Recalls)
        {
            ScheduleIndexing();
        }

        if (failure is null && policy.Extractor is { } extractor)
        {
            ExtractionWork.Schedule(new ExtractionJob(extractor, request.Options.Caller));
        }

        var citations = built?.Cited;
        yield return (failure is null
            ? CompletionChunk.Done(result with { OutputItems = output, Citations = citations, Truncation = policy.Truncation })
            : CompletionChunk.Failed(failure)) with { Admission = admission, Route = route };
    }

    public async Task<Result<ContextView>> PreviewContext(string model, int? maxOutputTokens, ContextPolicy? tenantPolicy)
    {
        var current = Durable;
        if (!current.Exists)
        {
            return NotFound;
        }

        var route = await GrainFactory.GetGrain<IModelRouteGrain>(GrainKeys.For(GrainKeys.Parse(this.GetPrimaryKeyString()).Tenant, model)).Describe();
        if (!route.IsSuccess || route.Value.Config is not { } config)
        {
            return route.Error ?? GatewayError.ModelNotFound(model);
        }

        var effective = Policy(null, tenantPolicy, current);
        var built = context.Build(new ContextInputs(
            null, current.Facts, current.Items, [], ContextBudget.For(config.Deployments, maxOutputTokens, effective), effective, current.Summary));
        return built.IsSuccess ? built.Value.View : built.Error;
    }

    public async Task<Result<ConversationMemory>> GetMemory()
    {
        var current = Durable;
        return current.Exists ? current.ToMemory((await VectorIndex().Sources()).Count) : NotFound;
    }

    public async Task<Result<ConversationMemory>> UpdateFacts(IReadOnlyDictionary<string, string?> changes)
    {
        using var gate = await Gate.Enter(_writeGate, CancellationToken.None);
        if (!state.State.Exists)
        {
            return NotFound;
        }

        var facts = new Dictionary<string, string>(state.State.Facts, StringComparer.Ordinal);
        foreach (var (key, value) in changes)
        {
            if (value is null)
            {
                facts.Remove(key);
            }
            else
            {
                facts[key] = value;
            }
        }

        if (facts.Count > Facts.MaxCount)
        {
            return GatewayError.Invalid($"A conversation holds at most {Facts.MaxCount} facts.", "facts", "too_many_facts");
        }

        var updated = state.State with { Facts = facts };
        return await Persist(updated) ?? (Result<ConversationMemory>)updated.ToMemory(null);
    }

    /// <summary>
    /// After a turn: if a summarizer is set and enough of the items that left the window are not yet
    /// summarized, summarize them in the background (an interleaving timer), off the client's path.
    /// </summary>
    private void ScheduleSummary(ContextPolicy policy, Conversations.Tenancy.Caller? caller, BuiltContext built)
    {
        if (policy.Summarizer is not { } model)
        {
            return; // without a summarizer, no pass over the history (it grows with every turn)
        }

        var unsummarized = built.Unsummarized.ToList();
        if (unsummarized.Sum(item => item.Tokens) < (policy.SummarizeAfterTokens ?? 0))
        {
            return;
        }

        var pending = unsummarized.Select(item => item.Id).ToHashSet(StringComparer.Ordinal);
        SummaryWork.Schedule(new SummaryJob(model, caller, pending, policy.SummaryTokens ?? ContextPolicy.Default.SummaryTokens!.Value));
    }

    /// <summary>One summarizer call over the oldest pending items; a failure changes nothing and is retried.</summary>
    private async Task<PassOutcome> Summarize(SummaryJob job, CancellationToken cancellationToken)
    {
        var before = state.State;
        var start = before.Summary is { } earlier ? ContextBuilder.Covered(before.Items, earlier) : 0;
        var batch = new List<ConversationItem>();
        var tokensRead = 0;
        foreach (var item in before.Items.Skip(start).TakeWhile(item => job.Pending.Contains(item.Id)))
        {
            if (batch.Count > 0 && tokensRead + item.Tokens > summaryOptions.Value.MaxTranscriptTokens)
            {
                break;
            }

            batch.Add(item);
            tokensRead += item.Tokens;
        }

        // A summary ends where a turn ends, so a turn is never split between the summary and the window.
        var next = start + batch.Count;
        if (next < before.Items.Count && before.Items[next].Role != Roles.User)
        {
            var turnStart = batch.FindLastIndex(item => item.Role == Roles.User);
            batch.RemoveRange(Math.Max(turnStart, 0), batch.Count - Math.Max(turnStart, 0));
        }

        if (batch.Count == 0)
        {
            return PassOutcome.Done;
        }

        var outcome = await Call(new CompletionRequest(job.Model, Summaries.Prompt(before.Summary, batch), MaxOutputTokens: job.SummaryTokens, Caller: job.Caller, StreamDeltas: false), cancellationToken);
        using var gate = await Gate.Enter(_writeGate, cancellationToken);
        var covering = start + batch.Count;
        var unchanged = ReferenceEquals(state.State.Summary, before.Summary)
            && state.State.Items.Count >= covering
            && state.State.Items.Take(covering).Select(i => i.Id).SequenceEqual(before.Items.Take(covering).Select(i => i.Id), StringComparer.Ordinal);
        if (outcome?.Final is not { FinishReason: "stop", Text.Length: > 0 } final || !unchanged)
        {
            // Failed, cut short, or the conversation changed under the summary (an item deleted): try again later, nothing lost or hidden.
            return PassOutcome.Failed(outcome?.Error?.Code ?? (unchanged ? "incomplete_summary" : "conversation_changed"));
        }

        var covered = state.State.Items.FindIndex(item => item.Id == batch[^1].Id) + 1;
        var summary = new ConversationSummary(final.Text, batch[^1].Id, covered, clock.GetUtcNow(), job.Model);
        if (await Persist(state.State with { Summary = summary }) is not null)
        {
            return PassOutcome.Failed("storage_unavailable");
        }

        // More backlog than one call reads goes on at once.
        return state.State.Items.Skip(summary.Items).Any(item => job.Pending.Contains(item.Id)) ? PassOutcome.More : PassOutcome.Done;
    }

    /// <summary>
    /// One extractor call over the items it has not read; its changes are merged into the facts as they are now, and the mark
    /// moves past those items. A failed call, an answer that is not a JSON object, or an item deleted meanwhile changes nothing.
    /// </summary>
    private async Task<PassOutcome> Extract(ExtractionJob job, CancellationToken cancellationToken)
    {
        var before = state.State;
        var batch = FactExtraction.Unread(before.Items, before.ExtractedThroughItemId, summaryOptions.Value.MaxTranscriptTokens);
        if (batch.Count == 0)
        {
            return PassOutcome.Done;
        }

        var outcome = await Call(new CompletionRequest(job.Model, FactExtraction.Prompt(before.Facts, batch), MaxOutputTokens: FactExtraction.MaxAnswerTokens,
            Caller: job.Caller, StreamDeltas: false, Format: OutputFormat.JsonObject), cancellationToken);
        using var gate = await Gate.Enter(_writeGate, cancellationToken);
        if (!state.State.Exists)
        {
            return PassOutcome.Done; // deleted meanwhile
        }

        var ids = state.State.Items.Select(item => item.Id).ToHashSet(StringComparer.Ordinal);
        if (!batch.TrueForAll(item => ids.Contains(item.Id)))
        {
            return PassOutcome.Failed("conversation_changed");
        }

        if (outcome?.Final is not { FinishReason: "stop" } final || FactExtraction.Parse(final.Text) is not { } changes)
        {
            return PassOutcome.Failed(outcome?.Error?.Code ?? (outcome?.Final is { FinishReason: "stop" } ? "unparseable_answer" : "incomplete_answer"));
        }

        var facts = FactExtraction.Merge(before.Facts, state.State.Facts, changes);
        if (await Persist(state.State with { Facts = facts, ExtractedThroughItemId = batch[^1].Id }) is not null)
        {
            return PassOutcome.Failed("storage_unavailable");
        }

        return state.State.Items[^1].Id == batch[^1].Id ? PassOutcome.Done : PassOutcome.More;
    }

    /// <summary>A background model call through the pipeline (admitted and metered against the caller's tenant): its last chunk.</summary>
    private async Task<CompletionChunk?> Call(CompletionRequest request, CancellationToken cancellationToken)
    {
        CompletionChunk? outcome = null;
        await foreach (var chunk in pipeline.Run(request, cancellationToken))
        {
            outcome = chunk;
        }

        return outcome;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Summarizing a conversation failed ({Reason}); attempt {Attempt}, retrying later")]
    private partial void LogSummaryFailed(string reason, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Extracting a conversation's facts failed ({Reason}); attempt {Attempt}, retrying later")]
    private partial void LogExtractionFailed(string reason, int attempt);

    private sealed record SummaryJob(string Model, Conversations.Tenancy.Caller? Caller, HashSet<string> Pending, int SummaryTokens);

    private sealed record ExtractionJob(string Model, Conversations.Tenancy.Caller? Caller);

    private ScopedVectors VectorIndex()
    {
        var (tenant, id) = GrainKeys.Parse(this.GetPrimaryKeyString());
        return vectors.For(tenant, VectorScopes.Conversation(id));
    }

    /// <summary>
    /// Embeds the new input once and searches the conversation's index (older items, best first) and the
    /// policy's knowledge bases (chunks, best first). A failure never fails a turn: it finds nothing.
    /// </summary>
    private async Task<(IReadOnlyList<ConversationItem> Recalled, IReadOnlyList<VectorMatchRef> Knowledge)> Remember(
        List<ConversationItem> input, ContextPolicy policy, CancellationToken cancellationToken)
    {
        try
        {
            var query = (await embeddings.GenerateAsync([string.Join('\n', input.Select(i => i.Text))], cancellationToken: cancellationToken))[0].Vector.ToArray();
            IReadOnlyList<ConversationItem> recalled = [];
            if (policy.Recalls)
            {
                var matches = await VectorIndex().Search(query, (policy.RecallTopK ?? 0) * 3, policy.RecallMinScore ?? 0); // the window's items are skipped by the builder
                var items = state.State.Items.ToDictionary(item => item.Id, StringComparer.Ordinal);
                recalled = [.. matches.Select(m => items.GetValueOrDefault(m.Source)).OfType<ConversationItem>()];
            }

            IReadOnlyList<VectorMatchRef> knowledge = [];
            if (policy.Retrieves)
            {
                knowledge = await KnowledgeRetrieval.Search(vectors, GrainKeys.Parse(this.GetPrimaryKeyString()).Tenant, query, policy);
            }

            return (recalled, knowledge);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogRecallFailed(exception);
            return ([], []);
        }
    }

    /// <summary>Items written outside a turn are indexed too, when the conversation's own policy recalls.</summary>
    private void IndexIfRecalling()
    {
        if (Policy(null, null).Recalls)
        {
            ScheduleIndexing();
        }
    }

    private void ScheduleIndexing()
    {
        if (_indexing)
        {
            _indexAgain = true;
            return;
        }

        _indexTimer?.Dispose();
        _indexTimer = this.RegisterGrainTimer(Index, new GrainTimerCreationOptions(TimeSpan.Zero, Timeout.InfiniteTimeSpan) { Interleave = true });
    }

    /// <summary>Embeds (locally) and indexes every item the index does not hold yet, in the background.</summary>
    private async Task Index(CancellationToken cancellationToken)
    {
        if (_indexing)
        {
            return;
        }

        _indexing = true;
        try
        {
            do
            {
                _indexAgain = false;
                var index = VectorIndex();
                var known = (await index.Sources()).ToHashSet(StringComparer.Ordinal);
                foreach (var batch in Durable.Items.Where(item => item.Text.Length > 0 && !known.Contains(item.Id)).Chunk(64))
                {
                    var vectors = await embeddings.GenerateAsync(batch.Select(item => $"{item.Role}: {item.Text}"), cancellationToken: cancellationToken);
                    await index.Upsert([.. batch.Zip(vectors, (item, vector) => new VectorRecord(item.Id, vector.Vector.ToArray(), item.Id, item.Text))]);
                }

                // Reconcile: a conversation or item deleted while this pass ran leaves no vectors behind.
                if (!Durable.Exists)
                {
                    await index.Clear();
                    return;
                }

                var current = Durable.Items.Select(item => item.Id).ToHashSet(StringComparer.Ordinal);
                foreach (var orphan in (await index.Sources()).Where(source => !current.Contains(source)))
                {
                    await index.DeleteSource(orphan);
                }
            }
            while (_indexAgain);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogIndexingFailed(exception);
            _indexTimer?.Dispose();
            _indexTimer = this.RegisterGrainTimer(Index, new GrainTimerCreationOptions(summaryOptions.Value.SummaryRetryDelay, Timeout.InfiniteTimeSpan) { Interleave = true });
        }
        finally
        {
            _indexing = false;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recall or retrieval failed; the turn goes on without them")]
    private partial void LogRecallFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Indexing a conversation for recall failed; retrying later")]
    private partial void LogIndexingFailed(Exception exception);

    /// <summary>The request's policy over the conversation's over the tenant's over the defaults.</summary>
    private ContextPolicy Policy(ContextPolicy? request, ContextPolicy? tenant, ConversationState? conversation = null) =>
        (request ?? new ContextPolicy()).Over((conversation ?? state.State).Policy ?? new ContextPolicy()).Over(tenant ?? new ContextPolicy()).Over(ContextPolicy.Default);

    private ConversationItem ToItem(NewItem item) =>
        new(Ids.NewItem(item.Kind), item.Role, item.Text, tokens.Count(item.CountedText), clock.GetUtcNow(), null, item.Call, item.CallId);

    /// <summary>Writes <paramref name="next"/>; on failure memory keeps the previous state and the caller gets a 503.</summary>
    private async Task<GatewayError?> Persist(ConversationState next)
    {
        _writing = state.State;
        try
        {
            if (await state.TryReplace(next) is { } failure)
            {
                return StorageFailed(failure);
            }

            ClearLeftoversAfter(summaryOptions.Value.SummaryRetryDelay); // pages whose clearing failed just now
            return null;
        }
        finally
        {
            _writing = null;
        }
    }

    /// <summary>
    /// Records listed for clearing (a delete cut short, a page dropped while storage failed) are cleared in the
    /// background: by a head write, which proves this activation's view is current, then the clearing itself.
    /// An activation tries <see cref="LeftoverAttempts"/> times, the waits doubling; then they stay listed for the next.
    /// </summary>
    private void ClearLeftoversAfter(TimeSpan delay)
    {
        if (state.State.Unreferenced.Count > 0 && _leftoverTimer is null && _leftoverAttempts < LeftoverAttempts)
        {
            delay *= Math.Pow(2, _leftoverAttempts++);
            _leftoverTimer = this.RegisterGrainTimer(ClearLeftovers, new GrainTimerCreationOptions(delay, Timeout.InfiniteTimeSpan) { Interleave = true });
        }
    }

    private const int LeftoverAttempts = 4;

    private async Task ClearLeftovers(CancellationToken _)
    {
        _leftoverTimer?.Dispose(); // which cancels the token this callback was given: the work below does not take it
        _leftoverTimer = null;
        using var gate = await Gate.Enter(_writeGate, CancellationToken.None);
        if (state.State.Unreferenced.Count == 0)
        {
            return;
        }

        if (state.State.Exists)
        {
            // The second write stores the list without what the first one's clearing removed.
            if (await Persist(state.State) is null && state.State.Unreferenced.Count == 0)
            {
                await Persist(state.State);
            }
        }
        else if (await state.TryClear() is { } failure)
        {
            StorageFailed(failure);
        }
        else
        {
            DeactivateOnIdle(); // what was left of a deleted conversation is gone
        }
    }

    private GatewayError StorageFailed(Exception exception)
    {
        LogStorageFailure(exception, this.GetPrimaryKeyString());

        // The write may have landed despite the error; a fresh activation re-reads the truth and its ETag.
        DeactivateOnIdle();
        return GatewayError.StorageUnavailable;
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "Conversation {Conversation} is damaged: storage does not hold its item pages {Pages}; only a delete is served")]
    private partial void LogDamaged(string conversation, IReadOnlyList<string> pages);

    [LoggerMessage(Level = LogLevel.Error, Message = "Writing conversation {Key} failed")]
    private partial void LogStorageFailure(Exception exception, string key);
}
