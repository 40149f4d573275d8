namespace Conversations.Webhooks;

/// <summary>
/// The deliveries of one endpoint, keyed <c>{tenant}/{endpointId}</c>: a durable queue sent in order, each event retried
/// with a doubling delay until the endpoint answers 2xx or the retry period ends, and a log of what happened.
/// </summary>
public interface IWebhookDeliveryGrain : IGrainWithStringKey
{
    /// <summary>Queues the event (written before this returns) unless this endpoint already has it.</summary>
    Task Enqueue(WebhookEvent webhookEvent);

    /// <summary>The most recent deliveries, newest first.</summary>
    Task<IReadOnlyList<WebhookDelivery>> Deliveries();

    /// <summary>Queues a logged event again (a manual redelivery); 404 when the log no longer has it.</summary>
    Task<Result<WebhookDelivery>> Redeliver(string eventId);

    /// <summary>The endpoint was deleted: drops the queue and the log.</summary>
    Task Stop();
}

/// <summary>One event's delivery to an endpoint: <c>pending</c>, <c>delivered</c> or <c>failed</c> (retries exhausted).</summary>
[GenerateSerializer, Immutable, Alias("conv.WebhookDelivery")]
public sealed record WebhookDelivery(
    [property: Id(0)] WebhookEvent Event,
    [property: Id(1)] string Status,
    [property: Id(2)] int Attempts,
    [property: Id(3)] DateTimeOffset QueuedAt,
    [property: Id(4)] DateTimeOffset? LastAttemptAt = null,
    [property: Id(5)] int? LastStatusCode = null,
    [property: Id(6)] string? LastError = null);
