using Conversations.Context;
using Conversations.Media;
using Conversations.Providers;
using Conversations.Routing;
using Conversations.Tenancy;

namespace Conversations.Grains.Media;

/// <summary>
/// A conversation's side of its items' images, files and audio: their bytes go to the tenant's content-addressed media
/// store, held by the conversation, before the items that name them are written, so an item never references bytes that
/// are not stored; items keep references only (<see cref="ContentPart.Stored"/>). A deleted conversation releases them.
/// </summary>
internal sealed class ConversationMedia(IGrainFactory grains, string tenant, string conversationId)
{
    private string Holder => MediaKeys.Conversation(conversationId);

    /// <summary><paramref name="items"/> as stored: each part's bytes put (or held, when they came by file id) first.</summary>
    public async Task<Result<List<ConversationItem>>> Store(IReadOnlyList<ConversationItem> items, StorageLimits limits, string param)
    {
        if (!items.Any(item => item.Parts is { Count: > 0 }))
        {
            return items as List<ConversationItem> ?? [.. items];
        }

        var stored = new List<ConversationItem>(items.Count);
        foreach (var item in items)
        {
            if (item.Parts is not { Count: > 0 } parts)
            {
                stored.Add(item);
                continue;
            }

            foreach (var part in parts.Where(p => p.Ref is not null).DistinctBy(p => p.Ref))
            {
                var media = grains.GetGrain<IMediaGrain>(MediaKeys.For(tenant, part.Ref!));
                var failure = part.Data is { } data ? await media.Put(data, part.MediaType, Holder, limits)
                    : await media.Hold(Holder) ? null
                    : GatewayError.Invalid($"The content of '{part.Param ?? param}' is no longer stored (its file was deleted).", part.Param ?? param, "file_deleted");
                if (failure is not null)
                {
                    return failure.Code == StorageLimits.StorageLimitReached ? failure with { Param = part.Param ?? param } : failure;
                }
            }

            stored.Add(item with { Parts = [.. parts.Select(p => p.Stored())] });
        }

        return stored;
    }

    /// <summary>Releases every part the conversation's items hold (once per content address).</summary>
    public Task Release(IEnumerable<ConversationItem> items) => Task.WhenAll(items
        .SelectMany(item => item.Parts ?? []).Select(part => part.Ref).OfType<string>().Distinct(StringComparer.Ordinal)
        .Select(address => grains.GetGrain<IMediaGrain>(MediaKeys.For(tenant, address)).Release(Holder)));

    /// <summary>A turn's input item with its tokens counted: its text's and its parts' (<see cref="MediaTokens"/>).</summary>
    public static ConversationItem Priced(ConversationItem item, TokenCounter tokens)
    {
        var (parts, count) = Priced(item.CountedText, item.Parts, tokens);
        return item with { Parts = parts, Tokens = count };
    }

    /// <summary>An item's parts priced (<see cref="MediaTokens"/>) and its tokens: its text's and its parts'.</summary>
    public static (IReadOnlyList<ContentPart>? Parts, int Tokens) Priced(string countedText, IReadOnlyList<ContentPart>? parts, TokenCounter tokens)
    {
        var text = tokens.Count(countedText);
        if (parts is not { Count: > 0 })
        {
            return (parts, text);
        }

        List<ContentPart> priced = [.. parts.Select(part => MediaTokens.Priced(part, tokens))];
        return (priced, text + priced.Sum(part => part.Tokens));
    }

    /// <summary>
    /// The history as <paramref name="deployments"/> can all take it: each part of a kind one of them does not take is left
    /// out (its tokens with it) and listed with <see cref="LeftOutReasons.InputModality"/>; the item's text stays.
    /// </summary>
    public static (IReadOnlyList<ConversationItem> History, IReadOnlyList<LeftOut>? Omitted) ForPlan(
        IReadOnlyList<ConversationItem> history, IReadOnlyList<RouteDeployment> deployments)
    {
        bool Taken(ContentPart part) => deployments.All(d => d.Takes(part.Kind));
        if (!history.Any(item => item.Parts?.Any(part => !Taken(part)) == true))
        {
            return (history, null);
        }

        var omitted = new List<LeftOut>();
        List<ConversationItem> fitted = [.. history.Select(item =>
        {
            if (item.Parts?.Any(part => !Taken(part)) != true)
            {
                return item;
            }

            omitted.AddRange(item.Parts.Select((part, index) => (part, index)).Where(p => !Taken(p.part)).Select(p => new LeftOut($"{item.Id}#{p.index}", LeftOutReasons.InputModality)));
            return item with { Parts = [.. item.Parts.Where(Taken)], Tokens = item.Tokens - item.Parts.Where(part => !Taken(part)).Sum(part => part.Tokens) };
        })];
        return (fitted, omitted);
    }
}
