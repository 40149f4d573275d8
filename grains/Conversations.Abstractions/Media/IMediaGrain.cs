using Conversations.Tenancy;

namespace Conversations.Media;

/// <summary>
/// One blob of a tenant's media, keyed <c>{tenant}/{address}</c> by its content address (<see cref="ContentAddress"/>), so
/// the same image sent in many turns, or uploaded and sent, is stored once. Its holders (<c>conv:{id}</c>, <c>file:{id}</c>)
/// keep it: the last one's release deletes it. Its bytes count against the tenant's stored bytes
/// (<see cref="ITenantStorageGrain"/>) once, from the first holder's put to the last holder's release.
/// </summary>
public interface IMediaGrain : IGrainWithStringKey
{
    /// <summary>Stores <paramref name="data"/> unless held already, and adds <paramref name="holder"/>; a 429 when the tenant's storage cap refuses it.</summary>
    Task<GatewayError?> Put(byte[] data, string mediaType, string holder, StorageLimits limits);

    /// <summary>Adds <paramref name="holder"/> to bytes stored already; false when nothing is stored under this address.</summary>
    Task<bool> Hold(string holder);

    /// <summary>The bytes and their type, or null when nothing is stored under this address.</summary>
    [Orleans.Concurrency.AlwaysInterleave]
    Task<MediaContent?> Get();

    /// <summary>Removes <paramref name="holder"/>; the last holder's release deletes the bytes and releases them from the tenant's count.</summary>
    Task Release(string holder);
}

[GenerateSerializer, Immutable, Alias("conv.MediaContent")]
public sealed record MediaContent([property: Id(0)] string MediaType, [property: Id(1)] byte[] Data);

/// <summary>Media grain keys and holders.</summary>
public static class MediaKeys
{
    public static string For(string tenant, string address) => GrainKeys.For(tenant, address);

    public static string Conversation(string conversationId) => "conv:" + conversationId;

    public static string File(string fileId) => "file:" + fileId;
}
