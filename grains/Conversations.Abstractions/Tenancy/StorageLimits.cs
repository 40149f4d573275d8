namespace Conversations.Tenancy;

/// <summary>
/// Caps on what a tenant stores, set by a platform admin. Null means unlimited; a tenant that never set them has
/// <see cref="Default"/>. Conversations and stored bytes are counted across the cluster by <see cref="ITenantStorageGrain"/>,
/// the day's end users by the tenant's quota grain; items per conversation and bytes per item are checked where items arrive.
/// A count is kept only while its cap is finite, so an unlimited cap costs no grain call.
/// </summary>
[GenerateSerializer, Immutable, Alias("tenancy.StorageLimits")]
public sealed record StorageLimits(
    [property: Id(0)] long? Conversations,
    [property: Id(1)] int? ItemsPerConversation,
    [property: Id(2)] int? ItemBytes,
    [property: Id(3)] long? StoredBytes,
    [property: Id(4)] int? EndUsersPerDay)
{
    /// <summary>Far above what a normal tenant stores: the caps stop runaway or hostile use, not ordinary growth.</summary>
    public static StorageLimits Default { get; } = new(100_000, 10_000, 1 << 20, 10L << 30, 100_000);

    public static StorageLimits None { get; } = new(null, null, null, null, null);

    /// <summary>The code of a refusal for stored bytes (the other refusals' codes are in their messages' methods).</summary>
    public const string StorageLimitReached = "storage_limit_reached";

    /// <summary>What a write that adds <paramref name="items"/> to a conversation (and, on create, the conversation) reserves.</summary>
    public StoredData Reservation(IEnumerable<ConversationItem> items, bool creates = false) => new(
        creates && Conversations is not null ? 1 : 0,
        StoredBytes is null ? 0 : items.Sum(item => (long)item.Bytes));

    /// <summary>A 400 for the first item larger than <see cref="ItemBytes"/>, named by <paramref name="param"/> from its index.</summary>
    public GatewayError? RefuseLargeItem(IReadOnlyList<NewItem> items, Func<int, string> param)
    {
        for (var i = 0; ItemBytes is { } max && i < items.Count; i++)
        {
            if (items[i].Bytes > max)
            {
                return GatewayError.Invalid(
                    $"Invalid '{param(i)}': the item has {items[i].Bytes} bytes and this tenant's items may have at most {max}.", param(i), "item_too_large");
            }
        }

        return null;
    }

    /// <summary>A 429 when <paramref name="adding"/> items would take a conversation holding <paramref name="held"/> past <see cref="ItemsPerConversation"/>.</summary>
    public GatewayError? RefuseItems(int held, int adding, string param) =>
        ItemsPerConversation is { } max && (long)held + adding > max
            ? Refused("item_limit_reached", $"This conversation holds {held} items and may hold at most {max}; {adding} more do not fit. Delete items or start a new conversation.", param)
            : null;

    /// <summary>A 429 when <paramref name="change"/> would take the tenant's <paramref name="stored"/> data past a cap.</summary>
    public GatewayError? Refuse(StoredData stored, StoredData change) =>
        change.Conversations > 0 && Conversations is { } conversations && stored.Conversations + change.Conversations > conversations
            ? Refused("conversation_limit_reached", $"This tenant has {stored.Conversations} conversations and may have at most {conversations}. Delete conversations to make room.")
        : change.Bytes > 0 && StoredBytes is { } bytes && stored.Bytes + change.Bytes > bytes
            ? Refused(StorageLimitReached, $"This tenant stores {stored.Bytes} bytes of conversation items and may store at most {bytes}; {change.Bytes} more do not fit. Delete conversations or items to make room.")
        : null;

    /// <summary>A 429 for an end user not yet seen today when the day already had <see cref="EndUsersPerDay"/>.</summary>
    public GatewayError EndUsersReached(TimeSpan untilNextDay) =>
        Refused("end_user_limit_reached", $"This tenant has had {EndUsersPerDay} distinct end users today, its limit; new ones are refused until 00:00 UTC.", "user")
        with { RetryAfter = untilNextDay };

    private static GatewayError Refused(string code, string message, string? param = null) => new(429, "invalid_request_error", code, message, param);
}

/// <summary>What a tenant stores (or a change to it): its conversations, and the bytes of their items.</summary>
[GenerateSerializer, Immutable, Alias("tenancy.StoredData")]
public sealed record StoredData([property: Id(0)] long Conversations, [property: Id(1)] long Bytes)
{
    public static StoredData None { get; } = new(0, 0);

    public bool IsNone => Conversations == 0 && Bytes == 0;

    /// <summary>The parts of this change that add (methods, not properties: JSON storage would write a property's value).</summary>
    public StoredData Added() => new(Math.Max(0, Conversations), Math.Max(0, Bytes));

    /// <summary>The parts of this change that remove, as positive amounts.</summary>
    public StoredData Removed() => new(Math.Max(0, -Conversations), Math.Max(0, -Bytes));

    public static StoredData operator +(StoredData left, StoredData right) => new(left.Conversations + right.Conversations, left.Bytes + right.Bytes);

    public static StoredData operator -(StoredData left, StoredData right) => new(left.Conversations - right.Conversations, left.Bytes - right.Bytes);

    /// <summary>At most what is here: a release never takes a count below zero.</summary>
    public StoredData AtMost(StoredData held) => new(Math.Min(Conversations, held.Conversations), Math.Min(Bytes, held.Bytes));
}
