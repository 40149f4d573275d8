namespace Conversations.Grains;

/// <summary>
/// A conversation's persisted state. Replaced as a whole on every change (never mutated in place),
/// so a failed write can restore the previous value and memory never runs ahead of storage.
/// </summary>
[GenerateSerializer, Alias("conv.ConversationState")]
public sealed record ConversationState
{
    /// <summary>Null until the conversation is created.</summary>
    [Id(0)] public string? Id { get; init; }

    [Id(1)] public DateTimeOffset CreatedAt { get; init; }

    [Id(2)] public Dictionary<string, string> Metadata { get; init; } = new(StringComparer.Ordinal);

    [Id(3)] public List<ConversationItem> Items { get; init; } = [];

    public bool Exists => Id is not null;

    public ConversationInfo ToInfo() => new(Id!, CreatedAt, Metadata, Items.Count);

    public ConversationState Append(IEnumerable<ConversationItem> items) => this with { Items = [.. Items, .. items] };
}

/// <summary>The names of the grain storage providers that silos register.</summary>
public static class StorageNames
{
    public const string Conversations = "conversations";
}
