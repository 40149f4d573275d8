namespace Conversations;

/// <summary>One item of a conversation or response: a message with its role and text.</summary>
/// <remarks>
/// Tool calls and other item types will extend this record with new fields; serializer ids keep
/// stored state readable across versions.
/// </remarks>
[GenerateSerializer, Immutable, Alias("conv.Item")]
public sealed record ConversationItem(
    [property: Id(0)] string Id,
    [property: Id(1)] string Role,
    [property: Id(2)] string Text,
    [property: Id(3)] int Tokens,
    [property: Id(4)] DateTimeOffset CreatedAt,
    [property: Id(5)] string? ResponseId = null);

/// <summary>An item as a client submits it, before it is given an id and a token count.</summary>
[GenerateSerializer, Immutable, Alias("conv.NewItem")]
public sealed record NewItem(
    [property: Id(0)] string Role,
    [property: Id(1)] string Text);

/// <summary>Tokens a model call consumed.</summary>
[GenerateSerializer, Immutable, Alias("conv.Usage")]
public sealed record TokenUsage(
    [property: Id(0)] int InputTokens,
    [property: Id(1)] int OutputTokens)
{
    public int TotalTokens => InputTokens + OutputTokens;
}

/// <summary>The roles a message item may have.</summary>
public static class Roles
{
    public const string System = "system";
    public const string Developer = "developer";
    public const string User = "user";
    public const string Assistant = "assistant";

    public static bool IsKnown(string role) => role is System or Developer or User or Assistant;
}
