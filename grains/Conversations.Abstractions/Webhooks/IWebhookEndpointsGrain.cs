namespace Conversations.Webhooks;

/// <summary>
/// A tenant's webhook endpoints, keyed <c>{tenant}</c>: registered with a URL the platform's address rules allow, the
/// events they receive and a signing secret; a finished background response is published here and fanned out to the
/// delivery grain of every endpoint that subscribed to its event.
/// </summary>
public interface IWebhookEndpointsGrain : IGrainWithStringKey
{
    /// <summary>Registers an endpoint; a 400 naming <c>url</c> or <c>events</c> when they are refused.</summary>
    Task<Result<WebhookEndpoint>> Create(WebhookEndpoint endpoint);

    Task<IReadOnlyList<WebhookEndpoint>> List();

    Task<Result<WebhookEndpoint>> Get(string endpointId);

    /// <summary>Removes an endpoint; what it had not delivered yet is dropped.</summary>
    Task<Result<WebhookEndpoint>> Delete(string endpointId);

    /// <summary>
    /// Disables an endpoint (events published meanwhile are not queued for it; what it had queued is still sent) or
    /// enables it again.
    /// </summary>
    Task<Result<WebhookEndpoint>> SetDisabled(string endpointId, bool disabled);

    /// <summary>Queues the event for every enabled endpoint subscribed to its type; the same event published twice is delivered once.</summary>
    Task Publish(WebhookEvent webhookEvent);
}

/// <summary>A registered endpoint. The secret (<c>whsec_</c> and base64) is kept to sign with and shown only when created.</summary>
[GenerateSerializer, Immutable, Alias("conv.WebhookEndpoint")]
public sealed record WebhookEndpoint(
    [property: Id(0)] string Id,
    [property: Id(1)] string Url,
    [property: Id(2)] IReadOnlyList<string> Events,
    [property: Id(3)] string Secret,
    [property: Id(4)] DateTimeOffset CreatedAt,
    [property: Id(5)] string? Description = null,
    [property: Id(6)] bool Disabled = false)
{
    public const string IdPrefix = "we";

    public const string SecretPrefix = "whsec_";

    /// <summary>A new signing secret as Standard Webhooks writes it: <c>whsec_</c> and 32 random bytes in base64.</summary>
    public static string NewSecret() => SecretPrefix + Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
}

/// <summary>One event as OpenAI sends it: <c>{id, object: "event", created_at, type, data: {id}}</c>.</summary>
[GenerateSerializer, Immutable, Alias("conv.WebhookEvent")]
public sealed record WebhookEvent(
    [property: Id(0)] string Id,
    [property: Id(1)] string Type,
    [property: Id(2)] DateTimeOffset CreatedAt,
    [property: Id(3)] string ResponseId)
{
    public const string IdPrefix = "evt";

    /// <summary>The events a response's terminal statuses raise (OpenAI's names).</summary>
    public static IReadOnlyList<string> ResponseEvents { get; } = ["response.completed", "response.failed", "response.cancelled", "response.incomplete"];

    /// <summary>
    /// The event of a background response that reached <paramref name="status"/>. Its id is made from the response's, so
    /// the one terminal event of a response has one id however often it is published (after a crash, again).
    /// </summary>
    public static WebhookEvent ForResponse(string responseId, string status, DateTimeOffset at) =>
        new($"{IdPrefix}_{responseId[(responseId.IndexOf('_') + 1)..]}", $"response.{status}", at, responseId);
}
