using Microsoft.Extensions.Logging;

namespace Conversations.Grains;

/// <summary>A stored response: written once, read for retrieval and for <c>previous_response_id</c> chains.</summary>
public sealed class ResponseGrain(
    [PersistentState(TurnResponses.StateName, StorageNames.Conversations)] IPersistentState<ResponseState> state,
    ILogger<ResponseGrain> logger) : Grain, IResponseGrain
{
    private GatewayError NotFound => GatewayError.NotFound("response", GrainKeys.Parse(this.GetPrimaryKeyString()).Id);

    public async Task<Result<StoredResponse>> Save(StoredResponse response)
    {
        if (state.State.Response is not null)
        {
            return GatewayError.Conflict($"Response '{response.Id}' already exists.", "response_exists");
        }

        return await state.TryReplace(new ResponseState { Response = response }, this, logger) ?? (Result<StoredResponse>)response;
    }

    public async Task<Result<StoredResponse>> Advance(StoredResponse response)
    {
        if (state.State.Response is null)
        {
            return NotFound; // deleted while it ran: not brought back
        }

        if (state.State.Response is { IsFinished: true } finished)
        {
            return GatewayError.Conflict($"Response '{response.Id}' already finished ({finished.Status}).", "response_finished");
        }

        return await state.TryReplace(new ResponseState { Response = response }, this, logger) ?? (Result<StoredResponse>)response;
    }

    public async Task<Result<StoredResponse>> Get() =>
        await Stored() is { } response ? response : (Result<StoredResponse>)NotFound;

    public async Task<Result<StoredResponse>> Delete()
    {
        if (await Stored() is not { } response)
        {
            return NotFound;
        }

        if (await state.TryClear(this, logger) is { } failed)
        {
            return failed;
        }

        DeactivateOnIdle();
        return response;
    }

    /// <summary>The response; storage is read again on a miss, since a turn stores its record without this activation (<see cref="TurnResponses"/>).</summary>
    private async Task<StoredResponse?> Stored()
    {
        if (state.State.Response is null)
        {
            await state.ReadStateAsync();
        }

        return state.State.Response;
    }
}

[GenerateSerializer, Alias("conv.ResponseState")]
public sealed record ResponseState
{
    [Id(0)] public StoredResponse? Response { get; init; }
}
