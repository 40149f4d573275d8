using System.Runtime.CompilerServices;
using Conversations.Context;
using Conversations.Guardrails;
using Conversations.Grains.Context;
using Conversations.Grains.Media;
using Conversations.Grains.Guardrails;
using Conversations.Grains.Memory;
using Conversations.Grains.Pipeline;
using Conversations.Providers;
using Conversations.Routing;
using Conversations.Tenancy;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Conversations.Grains;

/// <summary>
/// One conversation. Orleans runs one activation per key in the whole cluster; <see cref="ConversationWrites"/> additionally
/// orders turns (which stream, and so interleave with other calls) and writes, so the history stays linear whoever writes.
/// Reads are <c>[AlwaysInterleave]</c> and never wait for a turn. A turn reads top-down: plan the route, build the context,
/// run the call, persist; then the background work it leaves (summary, fact extraction, recall indexing) is scheduled.
/// </summary>
public sealed partial class ConversationGrain(
    [PersistentState(ConversationStore.HeadName, StorageNames.Conversations)] IPersistentState<ConversationState> head,
    CallPipeline pipeline,
    ContextBuilder context,
    IVectorStore vectors,
    IEmbeddingGenerator<string, Embedding<float>> embeddings,
    TokenCounter tokens,
    TimeProvider clock,
    IOptions<SummaryOptions> options,
    ILogger<ConversationGrain> logger) : Grain, IConversationGrain, IIncomingGrainCallFilter
{
    private ConversationStore _store = null!;
    private ConversationWrites _writes = null!;
    private ConversationSummarizer _summarizer = null!;
    private FactExtractor _extractor = null!;
    private ConversationRecall _recall = null!;
    private PageClearing _clearing = null!;
    private TurnContext _turnContext = null!;
    private TurnCompaction _compaction = null!;
    private StorageReservations _reservations = null!;
    private ConversationMedia _media = null!;
    private TurnResponses _responses = null!;

    private string ConversationId => GrainKeys.Parse(this.GetPrimaryKeyString()).Id;

    private GatewayError NotFound => GatewayError.NotFound("conversation", ConversationId);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var (tenant, id) = GrainKeys.Parse(this.GetPrimaryKeyString());
        var storage = ServiceProvider.GetRequiredKeyedService<Orleans.Storage.IGrainStorage>(StorageNames.Conversations);
        _store = new(head, storage, this.GetGrainId(), logger, Math.Max(1, options.Value.ResidentPages));
        _responses = new(GrainFactory, storage, tenant, logger);
        _writes = new(_store, this, logger);
        _summarizer = new(this, _writes, pipeline, clock, options.Value, logger);
        _extractor = new(this, _writes, pipeline, options.Value, logger);
        _recall = new(this, tenant, id, _writes, vectors, embeddings, options.Value, logger);
        _clearing = new(this, _writes, options.Value, logger);
        _turnContext = new(context, _recall, _writes, tokens);
        _compaction = new(_turnContext, pipeline, _writes, tokens, clock, options.Value);
        _reservations = new(GrainFactory.GetGrain<ITenantStorageGrain>(tenant), logger);
        _media = new(GrainFactory, tenant, id);
        _writes.Written = () => _clearing.ScheduleIfNeeded();
        if (await _store.Load())
        {
            _clearing.ScheduleIfNeeded(afterWrite: false);
        }
    }

    /// <summary>A conversation whose pages storage has lost answers nothing but a delete (a 500 for the rest).</summary>
    public Task Invoke(IIncomingGrainCallContext context) =>
        _store.Missing.Count > 0 && (context.InterfaceMethod.DeclaringType == typeof(IConversationGrain) ? context.InterfaceMethod.Name != nameof(Delete) : context.InterfaceMethod.Name == "StartEnumeration")
            ? throw new InvalidOperationException($"Conversation {this.GetPrimaryKeyString()} is damaged: storage has lost item pages it references. It can only be deleted.")
            : context.Invoke();

    public async Task<Result<ConversationInfo>> Create(
        IReadOnlyDictionary<string, string> metadata, IReadOnlyList<NewItem> items, ContextPolicy? policy = null, StorageLimits? limits = null,
        PiiPolicy? redact = null)
    {
        using var gate = await _writes.Enter(CancellationToken.None);
        if (_writes.State.Exists)
        {
            return GatewayError.Conflict($"Conversation '{ConversationId}' already exists.", "conversation_exists");
        }

        limits ??= StorageLimits.None;
        if (limits.RefuseItems(0, items.Count, "items") is { } tooMany)
        {
            return tooMany;
        }

        var added = await _media.Store([.. items.Select(item => ToItem(item, redact))], limits, "items");
        if (!added.IsSuccess)
        {
            return added.Error;
        }

        var created = new ConversationState
        {
            Id = ConversationId,
            CreatedAt = clock.GetUtcNow(),
            Metadata = new(metadata, StringComparer.Ordinal),
            Items = added.Value,
            Policy = policy,
            Reserved = limits.Reservation(added.Value, creates: true),
        };
        return await Write(created, limits: limits) ?? (Result<ConversationInfo>)created.ToInfo();
    }

    public Task<Result<ConversationInfo>> Get() =>
        Task.FromResult(_writes.Durable.Exists ? _writes.Durable.ToInfo() : (Result<ConversationInfo>)NotFound);

    public Task<Result<ConversationInfo>> Update(IReadOnlyDictionary<string, string>? metadata, PolicyChange? policy) => Change(
        current => current with
        {
            Metadata = metadata is null ? current.Metadata : new(metadata, StringComparer.Ordinal),
            Policy = policy is null ? current.Policy : policy.Policy,
        },
        updated => updated.ToInfo());

    public async Task<Result<ConversationInfo>> Delete()
    {
        using var gate = await _writes.Enter(CancellationToken.None);
        if (!_writes.State.Exists)
        {
            // A delete cut short after its item pages were listed for clearing: this one finishes the clearing.
            return _writes.State.Unreferenced.Count > 0 && await _writes.Clear() is { } unfinished ? unfinished : NotFound;
        }

        var (deleted, reserved) = (_writes.State.ToInfo(), _writes.State.Reserved);
        var withMedia = (await _writes.Whole(_writes.State)).Items.Where(item => item.Parts is { Count: > 0 }).ToList();
        try
        {
            // Vectors first: if clearing the conversation then fails before its pages are listed, a retried delete still finds it.
            await _recall.Index.Clear();
        }
        catch (Exception exception)
        {
            return _writes.Failed(exception);
        }

        var failure = await _writes.Clear();
        if (!_writes.State.Exists)
        {
            // Gone, even when some of its pages are still to be cleared: what it held no longer counts against its tenant.
            await _reservations.Release(reserved);
            await _media.Release(withMedia);
        }

        if (failure is not null)
        {
            return failure;
        }

        DeactivateOnIdle();
        return deleted;
    }

    public async Task<Result<IReadOnlyList<ConversationItem>>> AddItems(
        IReadOnlyList<NewItem> items, Idempotency? idempotency = null, StorageLimits? limits = null, PiiPolicy? redact = null)
    {
        using var gate = await _writes.Enter(CancellationToken.None);
        var current = _writes.State;
        if (!current.Exists)
        {
            return NotFound;
        }

        if (idempotency is not null && current.FindIdempotent(idempotency.Key) is { } seen)
        {
            return seen.Fingerprint != idempotency.Fingerprint
                ? GatewayError.IdempotencyKeyReused
                : (await _writes.Whole(current)).Items.Where(item => seen.ItemIds.Contains(item.Id)).ToList();
        }

        limits ??= StorageLimits.None;
        if (limits.RefuseItems(current.ItemCount, items.Count, "items") is { } tooMany)
        {
            return tooMany;
        }

        var stored = await _media.Store([.. items.Select(item => ToItem(item, redact))], limits, "items");
        if (!stored.IsSuccess)
        {
            return stored.Error;
        }

        var added = stored.Value;
        return await Write(current.Append(added, limits).Remember(idempotency, null, added.Select(item => item.Id)), limits: limits)
            ?? (Result<IReadOnlyList<ConversationItem>>)added;
    }

    /// <summary>From the newest items when they hold the page (newest first with more after it, oldest first after one of them), else from all.</summary>
    public async Task<Result<ItemPage>> ListItems(ItemQuery query)
    {
        var current = _writes.Durable;
        var page = current.Exists ? query.Apply(current.Items) : NotFound;
        var held = page.IsSuccess && (query.Ascending ? query.After is not null : page.Value.HasMore);
        return current.Unloaded == 0 || held ? page : query.Apply((await _writes.Whole(current)).Items);
    }

    public async Task<Result<ConversationItem>> GetItem(string itemId)
    {
        var current = _writes.Durable is { Unloaded: > 0 } partial && !partial.Items.Exists(item => item.Id == itemId) ? await _writes.Whole(partial) : _writes.Durable;
        return !current.Exists ? NotFound
            : current.Items.Find(item => item.Id == itemId) is { } item ? item
            : GatewayError.NotFound("item", itemId);
    }

    public async Task<Result<ConversationInfo>> DeleteItem(string itemId)
    {
        var deleted = await Change(
            current => current.Items.Exists(item => item.Id == itemId) ? current.WithoutItem(itemId) : GatewayError.NotFound("item", itemId),
            updated => updated.ToInfo(), whole: true); // an item is removed from every item
        if (deleted.IsSuccess)
        {
            await _recall.Forget(itemId);
        }

        return deleted;
    }

    public async IAsyncEnumerable<CompletionChunk> RunTurn(TurnRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var gate = await _writes.Enter(cancellationToken);
        var input = request.Input.Select(item => ConversationMedia.Priced(item, tokens)).ToList();
        var policy = ContextPolicy.Layered(request.Policy, _writes.State.Policy, request.Options.Caller?.TenantContextPolicy);
        var current = await _turnContext.Read(request, input, policy, _writes.State);
        var limits = request.Options.Caller?.Storage ?? StorageLimits.None;
        var answered = !current.Exists ? new ErrorChunk(NotFound)
            : current.Replay(request.Idempotency, request.Options.Model)
            ?? (ToolPairs.Check(current.Items, input) is { } unpaired ? new ErrorChunk(unpaired) : null)
            ?? (limits.RefuseItems(current.ItemCount, input.Count + 1, "input") is { } full ? new ErrorChunk(full) : null); // the answer is one item at least
        if (answered is not null)
        {
            yield return answered; // before any model call: a retry of a turn that happened, or an input that does not fit
            yield break;
        }

        // Plan: the route's deployments set the context's budget. Build: what the model sees of this conversation, within the
        // budget; compacted into its summary first when the request asks.
        var turnInfo = new CallInfo(Truncation: policy.Truncation);
        var planned = await pipeline.Plan(request.Options with { Conversation = this.GetPrimaryKeyString() }, input.SelectMany(item => item.Parts ?? []));
        var compacted = planned.IsSuccess ? await _compaction.Build(request, input, policy, current, planned.Value, cancellationToken) : planned.Error;
        if (!compacted.IsSuccess)
        {
            yield return new ErrorChunk(compacted.Error) { Info = turnInfo };
            yield break;
        }

        // Run: the call's stages and the model; the first chunk says the turn's truncation, citations and compaction.
        (current, var built, var compaction) = compacted.Value;
        var builtInfo = turnInfo = turnInfo with { Citations = built.Cited, Compaction = compaction };
        FinalChunk? done = null;
        await foreach (var chunk in pipeline.Run(planned.Value!.WithMessages(built.Messages, built.Guardrails), cancellationToken))
        {
            var passing = turnInfo is null ? chunk : chunk.With(info => info.Merge(turnInfo));
            turnInfo = null;
            if (passing is FinalChunk final)
            {
                done = final;
                break;
            }

            yield return passing;
            if (passing is ErrorChunk)
            {
                yield break;
            }
        }

        if (done is null)
        {
            yield break;
        }

        // Persist: the turn is acknowledged only after its items are durable; then its background work is scheduled.
        var output = OutputItems.Of(done.Result, request.OutputItemId, request.ResponseId, clock.GetUtcNow(), tokens.Count);
        var withMedia = await _media.Store(input, limits, "input");
        if (!withMedia.IsSuccess)
        {
            yield return new ErrorChunk(withMedia.Error) { Info = done.Info };
            yield break;
        }

        var stored = withMedia.Value.Select(item => item with { ResponseId = request.ResponseId }).Concat(output).ToList();
        if (request.Options.Caller?.Guardrails?.Pii is { StoreRedacted: true } redact)
        {
            stored = [.. stored.Select(item => StoredRedaction.Redact(item, redact, tokens.Count))]; // the client still gets the answer as it was
        }

        var next = current.Append(stored, limits).Remember(request.Idempotency, request.ResponseId, stored.Select(item => item.Id), output.Count);
        var response = request.Response?.Finish(done.Result with { OutputItems = output }, builtInfo.Merge(done.Info), request.OutputItemId, clock.GetUtcNow());
        if ((limits.RefuseItems(current.ItemCount, stored.Count, "input") ?? await _responses.WriteWith(response, () => Write(next, policy, limits, "input"))) is { } failure)
        {
            yield return new ErrorChunk(failure) { Info = done.Info };
            yield break;
        }

        _summarizer.After(policy, request.Options.Caller, built);
        if (policy.Extractor is { } extractor)
        {
            _extractor.After(extractor, request.Options.Caller);
        }

        yield return done with { Result = done.Result with { OutputItems = output } };
    }

    public async Task<Result<int>> CountInputTokens(TurnRequest request, CancellationToken cancellationToken = default)
    {
        if (!_writes.Durable.Exists)
        {
            return NotFound;
        }

        // As RunTurn plans and builds, on the state as last written; nothing is called or appended.
        var input = request.Input.Select(item => item with { Tokens = tokens.Count(item.CountedText) }).ToList();
        var policy = ContextPolicy.Layered(request.Policy, _writes.Durable.Policy, request.Options.Caller?.TenantContextPolicy);
        var current = await _turnContext.Read(request, input, policy, _writes.Durable);
        var planned = await pipeline.Plan(request.Options with { Conversation = this.GetPrimaryKeyString() });
        if (!planned.IsSuccess)
        {
            return planned.Error;
        }

        var built = await _turnContext.Build(request, input, policy, current, planned.Value, cancellationToken);
        return built.IsSuccess ? tokens.CountPrompt((request.Options with { Messages = built.Value.Messages }).PromptTexts) : built.Error;
    }

    public async Task<Result<ContextView>> PreviewContext(string model, int? maxOutputTokens, ContextPolicy? tenantPolicy, string? input = null, InjectionPolicy? injection = null)
    {
        var current = _writes.Durable;
        if (!current.Exists)
        {
            return NotFound;
        }

        var route = await GrainFactory.GetGrain<IModelRouteGrain>(GrainKeys.For(GrainKeys.Parse(this.GetPrimaryKeyString()).Tenant, model)).Describe();
        if (!route.IsSuccess || route.Value.Config is not { } config)
        {
            return route.Error ?? GatewayError.ModelNotFound(model);
        }

        return await _turnContext.Preview(current, config, maxOutputTokens, tenantPolicy, input, injection);
    }

    public async Task<Result<ConversationMemory>> GetMemory()
    {
        var current = _writes.Durable;
        return current.Exists ? current.ToMemory((await _recall.Index.Sources()).Count) : NotFound;
    }

    public Task<Result<ConversationMemory>> UpdateFacts(IReadOnlyDictionary<string, string?> changes) => Change(
        current => Conversations.Context.Facts.Apply(current.Facts, changes) is { } facts
            ? current.WithFacts(facts, clock.GetUtcNow())
            : GatewayError.Invalid($"A conversation holds at most {Conversations.Context.Facts.MaxCount} facts.", "facts", "too_many_facts"),
        updated => updated.ToMemory(null));

    /// <summary>Changes an existing conversation's state (<paramref name="whole"/>: with every item), one writer at a time: <paramref name="change"/>'s result, written, then answered.</summary>
    private async Task<Result<T>> Change<T>(Func<ConversationState, Result<ConversationState>> change, Func<ConversationState, T> answer, bool whole = false)
    {
        using var gate = await _writes.Enter(CancellationToken.None);
        var next = _writes.State.Exists ? change(whole ? await _writes.Whole(_writes.State) : _writes.State) : NotFound;
        return !next.IsSuccess ? next.Error : await Write(next.Value) ?? (Result<T>)answer(next.Value);
    }

    /// <summary>Writes <paramref name="next"/>, reserving what it adds under <paramref name="limits"/> first (a refusal names <paramref name="param"/>); items
    /// written are indexed when the conversation recalls (under <paramref name="policy"/>, else its own).</summary>
    private async Task<GatewayError?> Write(ConversationState next, ContextPolicy? policy = null, StorageLimits? limits = null, string param = "items")
    {
        var indexes = next.ItemCount > 0 && (policy ?? ContextPolicy.Layered(null, next.Policy, null)).Recalls;
        if (await _reservations.Write(_writes.State, next, limits ?? StorageLimits.None, param, _writes.Persist) is { } failure)
        {
            return failure;
        }

        if (indexes)
        {
            _recall.Schedule();
        }

        return null;
    }

    /// <summary>A client's item as stored: redacted first when the caller's policy says so (<see cref="StoredRedaction"/>), priced as a turn's input is.</summary>
    private ConversationItem ToItem(NewItem sent, PiiPolicy? redact)
    {
        var item = redact is null ? sent : StoredRedaction.Redact(sent, redact);
        var (parts, count) = ConversationMedia.Priced(item.CountedText, item.Parts, tokens);
        return new(Ids.NewItem(item.Kind), item.Role, item.Text, count, clock.GetUtcNow(), null, item.Call, item.CallId, parts);
    }
}
