namespace Conversations.Api;

public sealed record ConversationCreateJson(List<InputItemJson?>? Items, Dictionary<string, string>? Metadata);

public sealed record ConversationUpdateJson(Dictionary<string, string>? Metadata);

public sealed record ItemsCreateJson(List<InputItemJson?>? Items);

public sealed record ConversationJson(string Id, long CreatedAt, IReadOnlyDictionary<string, string> Metadata)
{
    public string Object => "conversation";

    public static ConversationJson From(ConversationInfo info) => new(info.Id, info.CreatedAt.ToUnixTimeSeconds(), info.Metadata);
}
