namespace Conversations.Api;

/// <summary>Reads OpenAI's list query parameters and writes the list envelope.</summary>
public static class ItemPaging
{
    /// <param name="limit">As sent: a value that is not an integer is refused here, naming <c>limit</c>, not by the binder.</param>
    public static Result<ItemQuery> Parse(string? after, string? limit, string? order)
    {
        int? count = limit is null ? null : int.TryParse(limit, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var parsed) ? parsed : 0;
        if (count is < 1 or > ItemQuery.MaxLimit)
        {
            return GatewayError.Invalid($"Invalid 'limit': expected an integer between 1 and {ItemQuery.MaxLimit}.", "limit", "invalid_value");
        }

        if (order is not (null or "asc" or "desc"))
        {
            return GatewayError.Invalid("Invalid 'order': expected 'asc' or 'desc'.", "order", "invalid_value");
        }

        return new ItemQuery(after, count ?? ItemQuery.DefaultLimit, order == "asc");
    }

    public static ListJson<ItemJson> ToJson(ItemPage page) => new(
        [.. page.Items.Select(ItemJson.From)],
        page.Items.Count > 0 ? page.Items[0].Id : null,
        page.Items.Count > 0 ? page.Items[^1].Id : null,
        page.HasMore);
}
