using Conversations.Grains.Context;
using Conversations.Webhooks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Conversations.Grains.Webhooks;

/// <summary>
/// Delivers one endpoint's events in order (decision 0061). The queue is written before an event is accepted, and a
/// reminder ticks while it is not empty, so deliveries resume on another silo after a crash; within an activation, a
/// failed delivery is retried on a grain timer after a delay that doubles from <see cref="WebhookOptions.FirstRetryDelay"/>,
/// until the endpoint answers 2xx or <see cref="WebhookOptions.RetryFor"/> has passed since the event was queued.
/// </summary>
public sealed partial class WebhookDeliveryGrain(
    [PersistentState("webhook-deliveries", StorageNames.Conversations)] IPersistentState<WebhookDeliveryState> state,
    WebhookSender sender,
    IOptions<WebhookOptions> options,
    TimeProvider clock,
    ILogger<WebhookDeliveryGrain> logger) : Grain, IWebhookDeliveryGrain, IRemindable, IDisposable
{
    private const string Reminder = "deliver";

    /// <summary>Finished deliveries kept in the log; pending ones are always kept.</summary>
    private const int LogLength = 100;

    /// <summary>Event ids remembered to refuse a second publication of one event.</summary>
    private const int RememberedEvents = 1000;

    private static readonly TimeSpan Tick = TimeSpan.FromMinutes(1);

    private readonly SemaphoreSlim _writes = new(1, 1);
    private BackgroundWork<DeliveryPass>? _work;

    private BackgroundWork<DeliveryPass> Work => _work ??= new(
        this, Pass, LogPassFailed,
        new SummaryOptions { SummaryRetryDelay = options.Value.FirstRetryDelay, MaxRetryDelay = options.Value.MaxRetryDelay },
        keepAlive: true);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (state.State.Queue.Count > 0)
        {
            Work.Schedule(DeliveryPass.Instance);
        }

        return Task.CompletedTask;
    }

    public async Task Enqueue(WebhookEvent webhookEvent)
    {
        if (state.State.Seen.Contains(webhookEvent.Id))
        {
            return;
        }

        await Queue(webhookEvent, remember: true);
    }

    public Task<IReadOnlyList<WebhookDelivery>> Deliveries() => Task.FromResult<IReadOnlyList<WebhookDelivery>>(state.State.Log);

    public async Task<Result<WebhookDelivery>> Redeliver(string eventId)
    {
        if (state.State.Log.FirstOrDefault(d => d.Event.Id == eventId) is not { } logged)
        {
            return GatewayError.NotFound("webhook event", eventId);
        }

        if (logged.Status == Pending)
        {
            return logged; // still queued
        }

        await Queue(logged.Event, remember: false);
        return state.State.Log[0];
    }

    public async Task Stop()
    {
        using (await Gate.Enter(_writes, CancellationToken.None))
        {
            _ = await state.TryClear(this, logger);
        }

        await Forget();
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (state.State.Queue.Count == 0)
        {
            await Forget();
            return;
        }

        Work.Schedule(DeliveryPass.Instance); // after a crash, this activation is new; otherwise a pending retry goes on
    }

    /// <summary>Writes the event at the end of the queue and as the newest entry of the log, then schedules a pass.</summary>
    private async Task Queue(WebhookEvent webhookEvent, bool remember)
    {
        // The reminder before the write: once the event is written, something must deliver it even if this silo dies at once.
        await this.RegisterOrUpdateReminder(Reminder, Tick, Tick);
        var entry = new WebhookDelivery(webhookEvent, Pending, 0, clock.GetUtcNow());
        var failed = await Write(current => current with
        {
            Queue = [.. current.Queue, webhookEvent],
            Log = Trim([entry, .. current.Log.Where(d => d.Event.Id != webhookEvent.Id)]),
            Seen = remember ? [.. current.Seen.TakeLast(RememberedEvents - 1), webhookEvent.Id] : current.Seen,
        });
        if (failed is not null)
        {
            throw new InvalidOperationException($"The webhook event could not be queued: {failed.Message}");
        }

        Work.Schedule(DeliveryPass.Instance);
    }

    private async Task<PassOutcome> Pass(DeliveryPass pass, CancellationToken cancellationToken)
    {
        if (state.State.Queue.Count == 0)
        {
            await Forget();
            return PassOutcome.Done;
        }

        var (tenant, endpointId) = GrainKeys.Parse(this.GetPrimaryKeyString());
        var endpoint = await GrainFactory.GetGrain<IWebhookEndpointsGrain>(tenant).Get(endpointId);
        if (!endpoint.IsSuccess)
        {
            if (endpoint.Error.Status != 404)
            {
                return PassOutcome.Failed("endpoint_unreadable");
            }

            await Stop(); // deleted
            return PassOutcome.Done;
        }

        var head = state.State.Queue[0];
        var attempt = await sender.Send(endpoint.Value, head, cancellationToken);
        var now = clock.GetUtcNow();
        var logged = state.State.Log.First(d => d.Event.Id == head.Id);
        var expired = !attempt.Delivered && now - logged.QueuedAt >= options.Value.RetryFor;
        var entry = logged with
        {
            Status = attempt.Delivered ? Delivered : expired ? Failed : Pending,
            Attempts = logged.Attempts + 1,
            LastAttemptAt = now,
            LastStatusCode = attempt.StatusCode,
            LastError = attempt.Error,
        };
        var done = attempt.Delivered || expired;
        if (await Write(current => current with
            {
                Queue = done ? [.. current.Queue.Skip(1)] : current.Queue,
                Log = Trim([.. current.Log.Select(d => d.Event.Id == head.Id ? entry : d)]),
            }) is not null)
        {
            return PassOutcome.Failed("storage"); // delivered again later: at least once
        }

        LogAttempt(head.Id, endpointId, entry.Status, attempt.StatusCode, entry.Attempts);
        if (!done)
        {
            return PassOutcome.Failed(attempt.StatusCode is { } code ? $"http_{code}" : "unreachable");
        }

        if (state.State.Queue.Count == 0)
        {
            await Forget();
            return PassOutcome.Done;
        }

        return PassOutcome.More;
    }

    /// <summary>
    /// Changes the state under a gate: the delivery pass runs on an interleaving timer, so its write and an enqueue's must
    /// not overlap (each change is made from the state the other left).
    /// </summary>
    private async Task<GatewayError?> Write(Func<WebhookDeliveryState, WebhookDeliveryState> change)
    {
        using var gate = await Gate.Enter(_writes, CancellationToken.None);
        return await state.TryReplace(change(state.State), this, logger);
    }

    public void Dispose() => _writes.Dispose();

    private static IReadOnlyList<WebhookDelivery> Trim(IReadOnlyList<WebhookDelivery> log)
    {
        var finished = 0;
        return [.. log.Where(d => d.Status == Pending || ++finished <= LogLength)];
    }

    private async Task Forget()
    {
        if (await this.GetReminder(Reminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    private void LogPassFailed(string reason, int failures) => LogRetry(this.GetPrimaryKeyString(), reason, failures);

    private const string Pending = "pending";
    private const string Delivered = "delivered";
    private const string Failed = "failed";

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook {EventId} to endpoint {EndpointId}: {Status} (HTTP {StatusCode}, attempt {Attempts})")]
    private partial void LogAttempt(string eventId, string endpointId, string status, int? statusCode, int attempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook deliveries {Key}: a delivery failed ({Reason}), retry {Failures} scheduled")]
    private partial void LogRetry(string key, string reason, int failures);

    private sealed class DeliveryPass
    {
        public static DeliveryPass Instance { get; } = new();
    }
}

[GenerateSerializer, Alias("conv.WebhookDeliveryState")]
public sealed record WebhookDeliveryState
{
    /// <summary>The events not delivered yet, in the order they are sent.</summary>
    [Id(0)] public IReadOnlyList<WebhookEvent> Queue { get; init; } = [];

    /// <summary>The deliveries, newest first.</summary>
    [Id(1)] public IReadOnlyList<WebhookDelivery> Log { get; init; } = [];

    [Id(2)] public IReadOnlyList<string> Seen { get; init; } = [];
}
