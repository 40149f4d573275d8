using Conversations.Webhooks;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains.Webhooks;

/// <summary>A tenant's webhook endpoints (decision 0061): registered under the platform's address rules, and the fan-out of events.</summary>
public sealed class WebhookEndpointsGrain(
    [PersistentState("webhook-endpoints", StorageNames.Conversations)] IPersistentState<WebhookEndpointsState> state,
    WebhookSender sender,
    ILogger<WebhookEndpointsGrain> logger) : Grain, IWebhookEndpointsGrain
{
    /// <summary>The most endpoints one tenant registers (OpenAI allows a handful per project).</summary>
    public const int MaxEndpoints = 20;

    private string Tenant => this.GetPrimaryKeyString();

    public async Task<Result<WebhookEndpoint>> Create(WebhookEndpoint endpoint)
    {
        var refused = sender.Policy.Check(endpoint.Url)
            ?? (endpoint.Events.Count == 0 || endpoint.Events.Any(e => !WebhookEvent.ResponseEvents.Contains(e))
                ? GatewayError.Invalid($"Invalid 'events': expected one or more of {string.Join(", ", WebhookEvent.ResponseEvents)}.", "events", "invalid_value")
                : state.State.Endpoints.Count >= MaxEndpoints
                    ? GatewayError.Invalid($"A tenant registers at most {MaxEndpoints} webhook endpoints; delete one first.", "url", "webhook_limit_reached")
                    : null);
        if (refused is not null)
        {
            return refused;
        }

        var next = state.State with { Endpoints = [.. state.State.Endpoints, endpoint with { Events = [.. endpoint.Events.Distinct()] }] };
        return await state.TryReplace(next, this, logger) is { } failed ? failed : next.Endpoints[^1];
    }

    public Task<IReadOnlyList<WebhookEndpoint>> List() => Task.FromResult<IReadOnlyList<WebhookEndpoint>>(state.State.Endpoints);

    public Task<Result<WebhookEndpoint>> Get(string endpointId) => Task.FromResult(Find(endpointId));

    public async Task<Result<WebhookEndpoint>> Delete(string endpointId)
    {
        var found = Find(endpointId);
        if (!found.IsSuccess)
        {
            return found;
        }

        var next = state.State with { Endpoints = [.. state.State.Endpoints.Where(e => e.Id != endpointId)] };
        if (await state.TryReplace(next, this, logger) is { } failed)
        {
            return failed;
        }

        await Delivery(endpointId).Stop();
        return found;
    }

    public async Task<Result<WebhookEndpoint>> SetDisabled(string endpointId, bool disabled)
    {
        var found = Find(endpointId);
        if (!found.IsSuccess || found.Value.Disabled == disabled)
        {
            return found;
        }

        var changed = found.Value with { Disabled = disabled };
        var next = state.State with { Endpoints = [.. state.State.Endpoints.Select(e => e.Id == endpointId ? changed : e)] };
        return await state.TryReplace(next, this, logger) is { } failed ? failed : changed;
    }

    public async Task Publish(WebhookEvent webhookEvent)
    {
        foreach (var endpoint in state.State.Endpoints.Where(e => !e.Disabled && e.Events.Contains(webhookEvent.Type)))
        {
            await Delivery(endpoint.Id).Enqueue(webhookEvent); // throws when it could not write: the publisher tries again
        }
    }

    private IWebhookDeliveryGrain Delivery(string endpointId) => GrainFactory.GetGrain<IWebhookDeliveryGrain>(GrainKeys.For(Tenant, endpointId));

    private Result<WebhookEndpoint> Find(string endpointId) =>
        state.State.Endpoints.FirstOrDefault(e => e.Id == endpointId) is { } endpoint ? endpoint : GatewayError.NotFound("webhook", endpointId);
}

[GenerateSerializer, Alias("conv.WebhookEndpointsState")]
public sealed record WebhookEndpointsState
{
    [Id(0)] public IReadOnlyList<WebhookEndpoint> Endpoints { get; init; } = [];
}
