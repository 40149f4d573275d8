using Conversations.Tenancy;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains;

/// <summary>
/// A conversation's side of its tenant's storage caps. A write whose state reserves more than the state before it
/// (<see cref="ConversationState.Reserved"/>) reserves the difference with the tenant's <see cref="ITenantStorageGrain"/>
/// first, and releases it if the write then fails; a write that reserves less releases the difference once written.
/// Nothing grows the reservation while every cap is unlimited, so such a write makes no grain call. A crash between a
/// reservation and its write leaves the reservation counted: the tenant is over-counted by what that write would have
/// added, never under-counted. See docs/decisions/0030-tenant-storage-caps-counted-by-a-tenant-grain.md.
/// </summary>
internal sealed partial class StorageReservations(ITenantStorageGrain tenant, ILogger logger)
{
    /// <summary>
    /// Writes <paramref name="next"/> with <paramref name="write"/>, reserving what it adds beyond <paramref name="current"/>
    /// under <paramref name="limits"/>; a refusal for stored bytes names <paramref name="param"/>, the field that brought them.
    /// </summary>
    public async Task<GatewayError?> Write(
        ConversationState current, ConversationState next, StorageLimits limits, string param, Func<ConversationState, Task<GatewayError?>> write)
    {
        var change = next.Reserved - current.Reserved;
        var adding = change.Added();
        if (!adding.IsNone && await Reserve(adding, limits) is { } refused)
        {
            return refused.Code == StorageLimits.StorageLimitReached ? refused with { Param = param } : refused;
        }

        if (await write(next) is { } failure)
        {
            await Release(adding);
            return failure;
        }

        await Release(change.Removed());
        return null;
    }

    /// <summary>Reserves <paramref name="adding"/>; a tenant grain that cannot be reached (its silo lost) is a retriable 503, nothing written.</summary>
    private async Task<GatewayError?> Reserve(StoredData adding, StorageLimits limits)
    {
        try
        {
            return await tenant.Reserve(adding, limits);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogReserveFailed(exception);
            return GatewayError.StorageUnavailable;
        }
    }

    /// <summary>Releases <paramref name="change"/>; if that fails the tenant stays over-counted by it, which is logged.</summary>
    public async Task Release(StoredData change)
    {
        if (change.IsNone)
        {
            return;
        }

        try
        {
            if (await tenant.Release(change) is not null)
            {
                LogReleaseFailed(null, change.Conversations, change.Bytes);
            }
        }
        catch (Exception exception)
        {
            LogReleaseFailed(exception, change.Conversations, change.Bytes);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reserving stored data with the tenant's storage count failed; the write is refused as retriable")]
    private partial void LogReserveFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Releasing {Conversations} conversations and {Bytes} bytes from the tenant's storage count failed; the tenant stays over-counted by them")]
    private partial void LogReleaseFailed(Exception? exception, long conversations, long bytes);
}
