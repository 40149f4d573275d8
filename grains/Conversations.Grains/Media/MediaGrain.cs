using Conversations.Media;
using Conversations.Tenancy;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains.Media;

/// <summary>
/// One blob of a tenant's media (see <see cref="IMediaGrain"/>). Its bytes are reserved with the tenant's
/// <see cref="ITenantStorageGrain"/> before the first write and released after the last holder's release, so what the
/// tenant stores is never under-counted (decision 0030); a put that fails to write releases what it reserved.
/// </summary>
public sealed class MediaGrain(
    [PersistentState("media", StorageNames.Conversations)] IPersistentState<MediaState> state,
    ILogger<MediaGrain> logger) : Grain, IMediaGrain
{
    private ITenantStorageGrain Tenant => GrainFactory.GetGrain<ITenantStorageGrain>(GrainKeys.Parse(this.GetPrimaryKeyString()).Tenant);

    public async Task<GatewayError?> Put(byte[] data, string mediaType, string holder, StorageLimits limits)
    {
        var current = state.State;
        if (current.Data is not null)
        {
            return current.Holders.Contains(holder) ? null
                : await state.TryReplace(current with { Holders = [.. current.Holders, holder] }, this, logger);
        }

        // Counted only under a finite cap, as conversations count their items (an unlimited tenant costs no grain call).
        var bytes = new StoredData(0, limits.StoredBytes is null ? 0 : data.Length);
        if (!bytes.IsNone && await Tenant.Reserve(bytes, limits) is { } refused)
        {
            return refused;
        }

        var failure = await state.TryReplace(new MediaState { MediaType = mediaType, Data = data, Holders = [holder], Counted = bytes.Bytes }, this, logger);
        if (failure is not null && !bytes.IsNone)
        {
            await Tenant.Release(bytes);
        }

        return failure;
    }

    public async Task<bool> Hold(string holder)
    {
        var current = state.State;
        return current.Data is not null
            && (current.Holders.Contains(holder) || await state.TryReplace(current with { Holders = [.. current.Holders, holder] }, this, logger) is null);
    }

    public Task<MediaContent?> Get() =>
        Task.FromResult(state.State is { Data: { } data, MediaType: { } type } ? new MediaContent(type, data) : null);

    public async Task Release(string holder)
    {
        var current = state.State;
        if (!current.Holders.Contains(holder))
        {
            return;
        }

        var holders = current.Holders.Where(h => h != holder).ToList();
        if (holders.Count > 0)
        {
            await state.TryReplace(current with { Holders = holders }, this, logger);
            return;
        }

        if (await state.TryClear(this, logger) is null)
        {
            if (current.Counted > 0)
            {
                await Tenant.Release(new StoredData(0, current.Counted));
            }

            DeactivateOnIdle();
        }
    }
}

[GenerateSerializer, Alias("conv.MediaState")]
public sealed record MediaState
{
    [Id(0)] public string? MediaType { get; init; }

    [Id(1)] public byte[]? Data { get; init; }

    [Id(2)] public List<string> Holders { get; init; } = [];

    /// <summary>The bytes counted against the tenant's storage (0 when its cap was unlimited at the first put).</summary>
    [Id(3)] public long Counted { get; init; }
}
