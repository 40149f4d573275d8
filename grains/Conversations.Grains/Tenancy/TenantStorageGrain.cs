using Conversations.Tenancy;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains.Tenancy;

/// <summary>
/// Counts what one tenant stores (see <see cref="ITenantStorageGrain"/>). A change is checked and counted in memory at
/// once, then answered after a write that holds it: the first change starts a write, the changes that arrive while it
/// runs share the next one, so a busy tenant's turns do not queue behind one write each. A write that fails takes its
/// changes back out of memory and answers them with the storage rule's error (<see cref="StateWrites"/>).
/// </summary>
public sealed class TenantStorageGrain(
    [PersistentState("storage", StorageNames.Conversations)] IPersistentState<TenantStorageState> state,
    ILogger<TenantStorageGrain> logger) : Grain, ITenantStorageGrain
{
    /// <summary>What storage holds plus the changes accepted since, waiting for their write.</summary>
    private StoredData _counted = StoredData.None;

    /// <summary>Changes accepted while a write runs: they go out together in the next one.</summary>
    private Batch? _waiting;

    private bool _writing;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _counted = state.State.Stored;
        return Task.CompletedTask;
    }

    public Task<GatewayError?> Reserve(StoredData change, StorageLimits limits) =>
        limits.Refuse(_counted, change) is { } refusal ? Task.FromResult<GatewayError?>(refusal) : Count(change);

    public Task<GatewayError?> Release(StoredData change) => Count(StoredData.None - change.AtMost(_counted));

    public Task<StoredData> Get() => Task.FromResult(_counted);

    private Task<GatewayError?> Count(StoredData change)
    {
        if (change.IsNone)
        {
            return Task.FromResult<GatewayError?>(null);
        }

        _counted += change;
        var batch = _waiting ??= new Batch();
        batch.Change += change;
        if (!_writing)
        {
            _ = WriteWaiting();
        }

        return batch.Written.Task;
    }

    /// <summary>Writes batch after batch until none waits; each write holds every change accepted before it started.</summary>
    private async Task WriteWaiting()
    {
        _writing = true;
        try
        {
            while (_waiting is { } batch)
            {
                _waiting = null;
                var failure = await state.TryReplace(new TenantStorageState { Stored = _counted }, this, logger);
                if (failure is not null)
                {
                    _counted -= batch.Change;
                }

                batch.Written.SetResult(failure);
            }
        }
        finally
        {
            _writing = false;
        }
    }

    private sealed class Batch
    {
        public StoredData Change { get; set; } = StoredData.None;

        public TaskCompletionSource<GatewayError?> Written { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

[GenerateSerializer, Alias("tenancy.TenantStorageState")]
public sealed record TenantStorageState
{
    [Id(0)] public StoredData Stored { get; init; } = StoredData.None;
}
