namespace Conversations.Api;

public sealed record ConversationCreateJson(List<InputItemJson?>? Items, Dictionary<string, string>? Metadata, ContextPolicyJson? ContextPolicy = null);

public sealed record ConversationUpdateJson(Dictionary<string, string>? Metadata, ContextPolicyJson? ContextPolicy = null);

public sealed record ItemsCreateJson(List<InputItemJson?>? Items);

/// <summary>A conversation; <c>context_policy</c> (this gateway's extension) is present when the conversation has its own.</summary>
public sealed record ConversationJson(string Id, long CreatedAt, IReadOnlyDictionary<string, string> Metadata, ContextPolicyJson? ContextPolicy = null)
{
    public string Object => "conversation";

    public static ConversationJson From(ConversationInfo info) =>
        new(info.Id, info.CreatedAt.ToUnixTimeSeconds(), info.Metadata, ContextPolicyJson.From(info.Policy));
}
