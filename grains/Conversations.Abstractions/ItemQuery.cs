namespace Conversations;

/// <summary>A page request over items: OpenAI's <c>after</c>, <c>limit</c> and <c>order</c>.</summary>
[GenerateSerializer, Immutable, Alias("conv.ItemQuery")]
public sealed record ItemQuery(
    [property: Id(0)] string? After,
    [property: Id(1)] int Limit,
    [property: Id(2)] bool Ascending)
{
    public const int DefaultLimit = 20;
    public const int MaxLimit = 100;

    /// <summary>The page of <paramref name="items"/> (stored oldest first) that this query selects.</summary>
    public Result<ItemPage> Apply(IReadOnlyList<ConversationItem> items)
    {
        IEnumerable<ConversationItem> ordered = Ascending ? items : items.Reverse();
        if (After is { } after)
        {
            if (!items.Any(item => item.Id == after))
            {
                return GatewayError.NotFound("item", after, "after");
            }

            ordered = ordered.SkipWhile(item => item.Id != after).Skip(1);
        }

        var page = ordered.Take(Limit + 1).ToList();
        var hasMore = page.Count > Limit;
        if (hasMore)
        {
            page.RemoveAt(page.Count - 1);
        }

        return new ItemPage(page, hasMore);
    }
}

[GenerateSerializer, Immutable, Alias("conv.ItemPage")]
public sealed record ItemPage(
    [property: Id(0)] IReadOnlyList<ConversationItem> Items,
    [property: Id(1)] bool HasMore);
