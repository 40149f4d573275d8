using Microsoft.Extensions.Logging;

namespace Conversations.Grains;

/// <summary>
/// Runs a <c>background: true</c> response away from its HTTP request (decision 0039). The work is written before the
/// client is answered, and a reminder ticks until the response has finished: if the silo running it dies, the next tick
/// activates this grain on another silo and runs the work again. A conversation turn carries an Idempotency-Key made of
/// the response id, so a second run of a turn that was already appended replays it instead of appending it twice; the
/// response grain accepts one terminal status only, so the response finishes exactly once.
/// </summary>
public sealed partial class BackgroundResponseGrain(
    [PersistentState("background", StorageNames.Conversations)] IPersistentState<BackgroundResponseState> state,
    StatelessInference inference,
    TimeProvider clock,
    ILogger<BackgroundResponseGrain> logger) : Grain, IBackgroundResponseGrain, IRemindable, IDisposable
{
    private const string Reminder = "run";

    /// <summary>Runs that ended without an answer (a silo lost mid-call, a retriable failure) before the response fails.</summary>
    private const int MaxAttempts = 3;

    /// <summary>Orleans' shortest reminder period: how long a response waits, at most, after its silo dies (plus failover).</summary>
    private static readonly TimeSpan Tick = TimeSpan.FromMinutes(1);

    private CancellationTokenSource? _cancel;
    private Task? _run;

    private IResponseGrain Stored => GrainFactory.GetGrain<IResponseGrain>(this.GetPrimaryKeyString());

    private GatewayError NotFound => GatewayError.NotFound("response", GrainKeys.Parse(this.GetPrimaryKeyString()).Id);

    public async Task<Result<StoredResponse>> Start(BackgroundResponseWork work)
    {
        if (state.State.Work is not null)
        {
            return GatewayError.Conflict($"Response '{work.Queued.Id}' already exists.", "response_exists");
        }

        // The reminder before the work: once the work is written, something must run it even if this silo dies at once.
        await this.RegisterOrUpdateReminder(Reminder, Tick, Tick);
        if (await state.TryReplace(new BackgroundResponseState { Work = work }, this, logger) is { } notWritten)
        {
            await Forget();
            return notWritten;
        }

        var saved = await Stored.Save(work.Queued);
        if (!saved.IsSuccess)
        {
            _ = await state.TryClear(this, logger);
            await Forget();
            return saved.Error;
        }

        Launch();
        return work.Queued;
    }

    public async Task<Result<StoredResponse>> Cancel()
    {
        if (state.State.Work is not { } work)
        {
            return NotFound;
        }

        var current = await Stored.Get();
        if (!current.IsSuccess || current.Value.IsFinished)
        {
            return current; // cancelling a finished response answers it as it is
        }

        _cancel?.Cancel();
        var cancelled = current.Value with { Status = "cancelled", Output = [], Usage = new TokenUsage(0, 0) };
        var written = await Stored.Advance(cancelled);
        if (!written.IsSuccess)
        {
            return written.Error.Status == 409 ? await Stored.Get() : written.Error; // it finished first
        }

        LogFinished(work.Queued.Id, "cancelled");
        await Finished(cancelled);
        return cancelled;
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (state.State.Work is null || state.State.Finished)
        {
            await Forget();
            return;
        }

        Launch(); // after a crash: this activation is new and runs the work again; otherwise a run in progress goes on
    }

    private void Launch()
    {
        if (_run is { IsCompleted: false })
        {
            return;
        }

        _cancel?.Dispose();
        _cancel = new CancellationTokenSource();
        _run = Run(state.State.Work!, _cancel.Token); // runs on this activation's scheduler, interleaving with Cancel
    }

    private async Task Run(BackgroundResponseWork work, CancellationToken cancellation)
    {
        var current = await Stored.Get();
        if (current.IsSuccess ? current.Value.IsFinished : current.Error.Status == 404)
        {
            await Finished(current.IsSuccess ? current.Value : null); // finished before a crash that came before this grain wrote it down, or deleted
            return;
        }

        var started = work.Queued with { Status = "in_progress" };
        if (!(await Stored.Advance(started)).IsSuccess)
        {
            return; // storage refused; the next tick tries again
        }

        StoredResponse? outcome;
        try
        {
            outcome = await Call(work, started, cancellation);
        }
        catch (Exception exception)
        {
            if (!cancellation.IsCancellationRequested)
            {
                LogRunFailed(exception, work.Queued.Id);
            }

            outcome = null;
        }

        if (cancellation.IsCancellationRequested)
        {
            return; // Cancel wrote the outcome
        }

        if (outcome is null)
        {
            // No answer (a silo lost mid-call, a retriable failure): the next tick runs it again, a few times.
            var attempts = state.State.Attempts + 1;
            if (attempts < MaxAttempts)
            {
                _ = await state.TryReplace(state.State with { Attempts = attempts }, this, logger);
                return;
            }

            outcome = started with { Status = "failed", Error = new GatewayError(503, "server_error", "server_error", "The response could not be run; retry it.") };
        }

        var written = await Stored.Advance(outcome);
        if (written.IsSuccess || written.Error.Status == 409)
        {
            LogFinished(work.Queued.Id, written.IsSuccess ? outcome.Status : "already finished");
            await Finished(written.IsSuccess ? outcome : await Stored.Get() is { IsSuccess: true } first ? first.Value : null);
        }
    }

    /// <summary>The model call, read to its end: the finished response, or <c>null</c> when the call should run again.</summary>
    private async Task<StoredResponse?> Call(BackgroundResponseWork work, StoredResponse started, CancellationToken cancellation)
    {
        var chunks = work.Turn is { } turn
            ? GrainFactory.GetGrain<IConversationGrain>(GrainKeys.For(GrainKeys.Parse(this.GetPrimaryKeyString()).Tenant, started.ConversationId!)).RunTurn(turn, cancellation)
            : inference.Complete(work.Call!, cancellation);
        var info = CallInfo.None;
        await foreach (var chunk in chunks.WithCancellation(cancellation))
        {
            info = info.Merge(chunk.Info);
            switch (chunk)
            {
                case FinalChunk { Result: var result }:
                    return started.Finish(result, info, work.OutputItemId, clock.GetUtcNow());
                case ErrorChunk { Error: { Status: 503 } }:
                    return null;
                case ErrorChunk { Error: var error }:
                    return started with { Status = "failed", Error = error };
            }
        }

        return null; // a stream that ended without its final chunk
    }

    /// <summary>
    /// The response reached its terminal status: its webhook event published (decision 0061), then written down, and the
    /// reminder removed. A publication that fails leaves the reminder, whose next tick publishes it again (the event's id is
    /// the response's, so an endpoint gets it once).
    /// </summary>
    private async Task Finished(StoredResponse? final)
    {
        if (final is { IsFinished: true })
        {
            try
            {
                var tenant = GrainKeys.Parse(this.GetPrimaryKeyString()).Tenant;
                await GrainFactory.GetGrain<Conversations.Webhooks.IWebhookEndpointsGrain>(tenant)
                    .Publish(Conversations.Webhooks.WebhookEvent.ForResponse(final.Id, final.Status, clock.GetUtcNow()));
            }
            catch (Exception exception)
            {
                LogPublishFailed(exception, final.Id);
                return;
            }
        }

        _ = await state.TryReplace(state.State with { Finished = true }, this, logger);
        await Forget();
    }

    private async Task Forget()
    {
        if (await this.GetReminder(Reminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    public void Dispose() => _cancel?.Dispose();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Background response {ResponseId}: a run ended without an answer; it runs again")]
    private partial void LogRunFailed(Exception exception, string responseId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Background response {ResponseId}: its webhook event could not be queued; the next tick tries again")]
    private partial void LogPublishFailed(Exception exception, string responseId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Background response {ResponseId} finished: {Status}")]
    private partial void LogFinished(string responseId, string status);
}

[GenerateSerializer, Alias("conv.BackgroundResponseState")]
public sealed record BackgroundResponseState
{
    [Id(0)] public BackgroundResponseWork? Work { get; init; }

    [Id(1)] public bool Finished { get; init; }

    [Id(2)] public int Attempts { get; init; }
}
