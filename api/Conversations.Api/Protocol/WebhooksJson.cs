using Conversations.Webhooks;

namespace Conversations.Api;

/// <summary>The body of <c>POST /v1/admin/tenants/{tenant}/webhooks</c>.</summary>
public sealed record WebhookCreateJson(string? Url, IReadOnlyList<string>? Events, string? Description = null);

/// <summary>A webhook endpoint; <c>secret</c> only in the answer that created it.</summary>
public sealed record WebhookEndpointJson(string Id, string Url, IReadOnlyList<string> Events, string? Description, long CreatedAt, bool Disabled, string? Secret)
{
    public string Object => "webhook_endpoint";

    public static WebhookEndpointJson From(WebhookEndpoint endpoint, bool withSecret = false) => new(
        endpoint.Id, endpoint.Url, endpoint.Events, endpoint.Description, endpoint.CreatedAt.ToUnixTimeSeconds(), endpoint.Disabled,
        withSecret ? endpoint.Secret : null);
}

/// <summary>One event's delivery to an endpoint, as the delivery log lists it.</summary>
public sealed record WebhookDeliveryJson(
    string Id, string Type, string ResponseId, string Status, int Attempts, long QueuedAt, long? LastAttemptAt, int? LastStatusCode, string? LastError)
{
    public string Object => "webhook_delivery";

    public static WebhookDeliveryJson From(WebhookDelivery delivery) => new(
        delivery.Event.Id, delivery.Event.Type, delivery.Event.ResponseId, delivery.Status, delivery.Attempts, delivery.QueuedAt.ToUnixTimeSeconds(),
        delivery.LastAttemptAt?.ToUnixTimeSeconds(), delivery.LastStatusCode, delivery.LastError);
}
