using Microsoft.Extensions.Logging;
using Orleans.Storage;

namespace Conversations.Grains;

/// <summary>
/// Stores a turn's response record beside the turn's own write: straight into the <see cref="ResponseGrain"/>'s storage
/// record (the conversation's storage provider, so the embedded store commits both in one group), started with the write
/// and awaited after it. Before, the API called a new response grain after the turn: an activation that read storage, a
/// second write, a call each way. A record that lands while its turn's write fails is cleared again. See
/// docs/decisions/0077-a-turn-stores-its-response-record-beside-its-own-write.md.
/// </summary>
internal sealed partial class TurnResponses(IGrainFactory grains, IGrainStorage storage, string tenant, ILogger logger)
{
    /// <summary>The <see cref="ResponseGrain"/>'s persistent state name.</summary>
    public const string StateName = "response";

    /// <summary>Runs <paramref name="write"/> with <paramref name="response"/> stored beside it; null, or why either failed.</summary>
    public async Task<GatewayError?> WriteWith(StoredResponse? response, Func<Task<GatewayError?>> write)
    {
        if (response is null)
        {
            return await write();
        }

        var grain = grains.GetGrain<IResponseGrain>(GrainKeys.For(tenant, response.Id)).GetGrainId();
        // Lists of plain types: a collection expression's own list type is not one a JSON storage serializer can read back.
        var record = new GrainState<ResponseState>(new ResponseState { Response = response with { Input = response.Input.ToList(), Output = response.Output.ToList() } });
        var saving = Save(grain, record);
        var failure = await write();
        var saved = await saving;
        if (failure is not null)
        {
            if (saved is null)
            {
                await Forget(grain, record);
            }

            return failure;
        }

        if (saved is not null)
        {
            LogSaveFailed(saved, response.Id);
            return GatewayError.StorageUnavailable; // the turn is stored: a retry with its idempotency key rebuilds the record
        }

        return null;
    }

    private async Task<Exception?> Save(GrainId grain, GrainState<ResponseState> record)
    {
        try
        {
            await storage.WriteStateAsync(StateName, grain, record);
            return null;
        }
        catch (Exception exception)
        {
            return exception;
        }
    }

    private async Task Forget(GrainId grain, GrainState<ResponseState> record)
    {
        try
        {
            await storage.ClearStateAsync(StateName, grain, record);
        }
        catch (Exception exception)
        {
            LogForgetFailed(exception, grain.ToString());
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Storing the response record {ResponseId} beside its turn failed; the turn is stored, the call answers storage_unavailable")]
    private partial void LogSaveFailed(Exception exception, string responseId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Clearing the response record {Grain} of a turn whose write failed failed; the record stays")]
    private partial void LogForgetFailed(Exception exception, string grain);
}
