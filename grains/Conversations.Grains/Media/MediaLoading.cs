using Conversations.Media;

namespace Conversations.Grains.Media;

/// <summary>
/// Loads the bytes a model call needs and does not carry: the parts of stored items and of files sent by id, which hold a
/// content address only. Read from the caller's tenant's media store just before the provider call, so the bytes cross no
/// other grain call and are never part of a conversation's state.
/// </summary>
public static class MediaLoading
{
    public static async ValueTask<CompletionRequest> Load(CompletionRequest request, IGrainFactory grains)
    {
        if (request.Caller?.Tenant is not { } tenant || !request.Messages.Any(m => m.Parts?.Any(Unloaded) == true))
        {
            return request;
        }

        var addresses = request.Messages.SelectMany(m => m.Parts ?? []).Where(Unloaded).Select(p => p.Ref!).Distinct(StringComparer.Ordinal).ToList();
        var contents = await Task.WhenAll(addresses.Select(address => grains.GetGrain<IMediaGrain>(MediaKeys.For(tenant, address)).Get()));
        var loaded = addresses.Zip(contents).Where(pair => pair.Second is not null).ToDictionary(pair => pair.First, pair => pair.Second!, StringComparer.Ordinal);
        return request with
        {
            Messages = [.. request.Messages.Select(message => message.Parts?.Any(Unloaded) != true ? message : message with
            {
                Parts = [.. message.Parts.Select(part => Unloaded(part) && loaded.TryGetValue(part.Ref!, out var content) ? part with { Data = content.Data } : part)],
            })],
        };
    }

    private static bool Unloaded(ContentPart part) => part.Data is null && part.Url is null && part.Ref is not null;
}
