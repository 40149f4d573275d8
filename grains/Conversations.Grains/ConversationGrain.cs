using System.Runtime.CompilerServices;
using Conversations.Providers;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains;

/// <summary>
/// One conversation. Orleans runs one activation per key in the whole cluster; <see cref="_writeGate"/>
/// additionally orders turns (which stream, and so interleave with other calls) and writes, so the
/// history stays linear whoever writes. Reads are <c>[AlwaysInterleave]</c> and never wait for a turn.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "A SemaphoreSlim whose wait handle is never read holds no unmanaged resource.")]
public sealed partial class ConversationGrain(
    [PersistentState("conversation", StorageNames.Conversations)] IPersistentState<ConversationState> state,
    ChatPipeline pipeline,
    TokenCounter tokens,
    TimeProvider clock,
    ILogger<ConversationGrain> logger) : Grain, IConversationGrain
{
    private readonly SemaphoreSlim _writeGate = new(1, 1);

    /// <summary>The state before a write in progress: interleaved reads see only what storage has confirmed.</summary>
    private ConversationState? _writing;

    private ConversationState Durable => _writing ?? state.State;

    private string ConversationId => GrainKeys.Parse(this.GetPrimaryKeyString()).Id;

    private GatewayError NotFound => GatewayError.NotFound("conversation", ConversationId);

    public async Task<Result<ConversationInfo>> Create(IReadOnlyDictionary<string, string> metadata, IReadOnlyList<NewItem> items)
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
        };
        return await Persist(created) ?? (Result<ConversationInfo>)created.ToInfo();
    }

    public Task<Result<ConversationInfo>> Get() =>
        Task.FromResult(Durable.Exists ? Durable.ToInfo() : (Result<ConversationInfo>)NotFound);

    public async Task<Result<ConversationInfo>> UpdateMetadata(IReadOnlyDictionary<string, string> metadata)
    {
        using var gate = await Gate.Enter(_writeGate, CancellationToken.None);
        if (!state.State.Exists)
        {
            return NotFound;
        }

        var updated = state.State with { Metadata = new(metadata, StringComparer.Ordinal) };
        return await Persist(updated) ?? (Result<ConversationInfo>)updated.ToInfo();
    }

    public async Task<Result<ConversationInfo>> Delete()
    {
        using var gate = await Gate.Enter(_writeGate, CancellationToken.None);
        if (!state.State.Exists)
        {
            return NotFound;
        }

        var deleted = state.State.ToInfo();
        try
        {
            await state.ClearStateAsync();
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
        return await Persist(next) ?? (Result<IReadOnlyList<ConversationItem>>)added;
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

        var updated = state.State with { Items = state.State.Items.FindAll(item => item.Id != itemId) };
        return await Persist(updated) ?? (Result<ConversationInfo>)updated.ToInfo();
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
                : CompletionChunk.Done(new CompletionResult(string.Empty, "stop", new TokenUsage(0, 0), request.Options.Model, ReplayOf: seen.ResponseId));
            yield break;
        }

        var input = request.Input.Select(item => item with { Tokens = tokens.Count(item.Text) }).ToList();
        var context = new List<NewItem>(state.State.Items.Count + input.Count + 1);
        if (request.Instructions is { Length: > 0 } instructions)
        {
            context.Add(new NewItem(Roles.System, instructions));
        }

        context.AddRange(state.State.Items.Select(item => new NewItem(item.Role, item.Text)));
        context.AddRange(input.Select(item => new NewItem(item.Role, item.Text)));

        CompletionResult? result = null;
        Conversations.Tenancy.Admission? admission = null;
        Conversations.Routing.ServedBy? route = null;
        await foreach (var chunk in pipeline.Run(request.Options with { Messages = context, Conversation = this.GetPrimaryKeyString() }, cancellationToken))
        {
            if (chunk.Final is not null)
            {
                result = chunk.Final;
                admission = chunk.Admission;
                route = chunk.Route;
                break;
            }

            yield return chunk;
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
        var output = new ConversationItem(request.OutputItemId, Roles.Assistant, result.Text, result.Usage.OutputTokens, clock.GetUtcNow(), request.ResponseId);
        var stored = input.Select(item => item with { ResponseId = request.ResponseId }).Append(output).ToList();
        var failure = await Persist(state.State.Append(stored).Remember(request.Idempotency, request.ResponseId, stored.Select(item => item.Id)));
        yield return (failure is null
            ? CompletionChunk.Done(result with { OutputItem = output })
            : CompletionChunk.Failed(failure)) with { Admission = admission, Route = route };
    }

    private ConversationItem ToItem(NewItem item) =>
        new(Ids.New(Ids.Message), item.Role, item.Text, tokens.Count(item.Text), clock.GetUtcNow());

    /// <summary>Writes <paramref name="next"/>; on failure memory keeps the previous state and the caller gets a 503.</summary>
    private async Task<GatewayError?> Persist(ConversationState next)
    {
        _writing = state.State;
        try
        {
            return await state.TryReplace(next) is { } failure ? StorageFailed(failure) : null;
        }
        finally
        {
            _writing = null;
        }
    }

    private GatewayError StorageFailed(Exception exception)
    {
        LogStorageFailure(exception, this.GetPrimaryKeyString());

        // The write may have landed despite the error; a fresh activation re-reads the truth and its ETag.
        DeactivateOnIdle();
        return GatewayError.StorageUnavailable;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Writing conversation {Key} failed")]
    private partial void LogStorageFailure(Exception exception, string key);
}
