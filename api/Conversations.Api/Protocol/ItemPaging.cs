namespace Conversations.Api;

/// <summary>Reads OpenAI's list query parameters and writes the list envelope.</summary>
public static class ItemPaging
{
    public static Result<ItemQuery> Parse(string? after, int? limit, string? order)
    {
        if (limit is < 1 or > ItemQuery.MaxLimit)
        {
            return GatewayError.Invalid($"Invalid 'limit': expected an integer between 1 and {ItemQuery.MaxLimit}.", "limit", "invalid_value");
        }

        if (order is not (null or "asc" or "desc"))
        {
            return GatewayError.Invalid("Invalid 'order': expected 'asc' or 'desc'.", "order", "invalid_value");
        }

        return new ItemQuery(after, limit ?? ItemQuery.DefaultLimit, order == "asc");
    }

    public static ListJson<ItemJson> ToJson(ItemPage page) => new(
        [.. page.Items.Select(ItemJson.From)],
        page.Items.Count > 0 ? page.Items[0].Id : null,
        page.Items.Count > 0 ? page.Items[^1].Id : null,
        page.HasMore);
}
