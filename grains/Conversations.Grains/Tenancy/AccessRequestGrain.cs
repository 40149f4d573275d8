using Conversations.Tenancy;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains.Tenancy;

/// <summary>
/// A tenant's access requests (decision 0053). An approval widens the key first (<see cref="ITenantGrain.Grant"/>, which
/// changes nothing when the key already has the access), then records the decision: a failure in between leaves the request
/// pending and a retry finds the key widened already.
/// </summary>
public sealed class AccessRequestGrain(
    [PersistentState("access", StorageNames.Conversations)] IPersistentState<AccessRequestState> state,
    TimeProvider clock,
    ILogger<AccessRequestGrain> logger) : Grain, IAccessRequestGrain
{
    /// <summary>Requests kept per tenant; past it the oldest decided ones go first.</summary>
    public const int MaxKept = 1_000;

    private string Tenant => this.GetPrimaryKeyString();

    public async Task<Result<AccessRequest>> Ask(Caller requester, string? model, string? endpoint, string? reason)
    {
        if (model is not null ? requester.MayUseModel(model) : requester.MayUseEndpoints(endpoint!))
        {
            return GatewayError.Invalid($"This API key may already use the {(model is not null ? $"model '{model}'" : $"'{endpoint}' endpoints")}.",
                model is not null ? "model" : "endpoint", "access_already_granted");
        }

        if (model is not null && await GrainFactory.GetGrain<ITenantGrain>(Tenant).Get() is { IsSuccess: true, Value.AllowedModels: { Count: > 0 } offered }
            && !offered.Contains(model, StringComparer.Ordinal))
        {
            return GatewayError.ModelNotFound(model); // not the tenant's: no tenant admin could grant it
        }

        var requests = state.State.Requests;
        if (requests.FirstOrDefault(r => r.Status == AccessRequestStatus.Pending && r.KeyId == requester.KeyId && r.Model == model && r.Endpoint == endpoint) is { } pending)
        {
            return GatewayError.Conflict($"This API key asked for this access already: request '{pending.Id}' is pending.", "access_request_pending");
        }

        if (requests.Count(r => r.Status == AccessRequestStatus.Pending) >= MaxKept)
        {
            return GatewayError.Conflict($"The tenant has {MaxKept} pending access requests; a tenant admin must decide some first.", "too_many_access_requests");
        }

        var request = new AccessRequest(Ids.New("areq"), requester.KeyId, model, endpoint, reason, AccessRequestStatus.Pending, clock.GetUtcNow());
        var kept = requests.Count < MaxKept ? requests : Pruned(requests);
        return await state.TryReplace(new AccessRequestState { Requests = [.. kept, request] }, this, logger) is { } failed ? failed : request;
    }

    public Task<IReadOnlyList<AccessRequest>> List() => Task.FromResult(state.State.Requests);

    public async Task<Result<AccessRequest>> Decide(string id, bool approve, Caller approver)
    {
        var index = state.State.Requests.ToList().FindIndex(r => r.Id == id);
        if (index < 0)
        {
            return GatewayError.NotFound("access request", id, "request_id");
        }

        var request = state.State.Requests[index];
        if (request.Status != AccessRequestStatus.Pending)
        {
            return GatewayError.Conflict($"Access request '{id}' was {request.Status} already.", "access_request_decided");
        }

        if (approve && await GrainFactory.GetGrain<ITenantGrain>(Tenant).Grant(request.KeyId, request.Model, request.Endpoint, approver) is { IsSuccess: false } refused)
        {
            return refused.Error;
        }

        var decided = request with
        {
            Status = approve ? AccessRequestStatus.Approved : AccessRequestStatus.Denied,
            DecidedAt = clock.GetUtcNow(),
            DecidedBy = approver.KeyId,
        };
        var requests = state.State.Requests.ToList();
        requests[index] = decided;
        return await state.TryReplace(new AccessRequestState { Requests = requests }, this, logger) is { } failed ? failed : decided;
    }

    /// <summary>The requests less the oldest decided one, to make room.</summary>
    private static List<AccessRequest> Pruned(IReadOnlyList<AccessRequest> requests)
    {
        var oldest = requests.ToList().FindIndex(r => r.Status != AccessRequestStatus.Pending);
        return [.. requests.Where((_, i) => i != oldest)];
    }
}

[GenerateSerializer, Immutable, Alias("tenancy.AccessRequestState")]
public sealed record AccessRequestState
{
    [Id(0)]
    public IReadOnlyList<AccessRequest> Requests { get; init; } = [];
}
