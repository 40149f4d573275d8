using System.Text;
using Conversations.Media;

namespace Conversations;

/// <summary>
/// One item of a conversation or response. Three kinds, as OpenAI's Responses API has them:
/// a message (a role and its text); a function call the model made (<see cref="Call"/> set, role
/// assistant, no text); and a function call's output (role <see cref="Roles.Tool"/>, <see cref="CallId"/>
/// naming the call it answers, the output as text). A message may also hold <see cref="Parts"/> beyond its text (images,
/// files, audio), kept as references to its tenant's media store. A response's output may also hold what a hosted MCP tool
/// did (<see cref="Mcp"/>: <c>mcp_list_tools</c>, <c>mcp_call</c>). Serializer ids keep stored state readable across versions.
/// </summary>
[GenerateSerializer, Immutable, Alias("conv.Item")]
public sealed record ConversationItem(
    [property: Id(0)] string Id,
    [property: Id(1)] string Role,
    [property: Id(2)] string Text,
    [property: Id(3)] int Tokens,
    [property: Id(4)] DateTimeOffset CreatedAt,
    [property: Id(5)] string? ResponseId = null,
    [property: Id(6)] FunctionCall? Call = null,
    [property: Id(7)] string? CallId = null,
    [property: Id(8)] IReadOnlyList<ContentPart>? Parts = null,
    [property: Id(9)] Conversations.Mcp.McpItem? Mcp = null)
{
    /// <summary>The item without its id and bookkeeping, as a model call takes it (a hosted MCP item: <see cref="Conversations.Mcp.McpItem.ForModel"/>).</summary>
    public NewItem ToNew() => new(Role, Text, Call, CallId, Parts);

    /// <summary>What the tokenizer counts for this item: its text, or a call's name and arguments.</summary>
    public string CountedText => ItemKinds.CountedText(Text, Call);

    /// <summary>The item's size against a tenant's storage caps (<see cref="ItemKinds.Bytes"/>).</summary>
    public int Bytes => ItemKinds.Bytes(Text, Call, CallId);
}

/// <summary>An item as a client submits it (or a model call takes it), before it is given an id and a token count.</summary>
[GenerateSerializer, Immutable, Alias("conv.NewItem")]
public sealed record NewItem(
    [property: Id(0)] string Role,
    [property: Id(1)] string Text,
    [property: Id(2)] FunctionCall? Call = null,
    [property: Id(3)] string? CallId = null,
    [property: Id(4)] IReadOnlyList<ContentPart>? Parts = null)
{
    public static NewItem CallOf(FunctionCall call) => new(Roles.Assistant, string.Empty, call);

    public static NewItem OutputOf(string callId, string output) => new(Roles.Tool, output, CallId: callId);

    public string CountedText => ItemKinds.CountedText(Text, Call);

    /// <summary>The item's size against a tenant's storage caps (<see cref="ItemKinds.Bytes"/>).</summary>
    public int Bytes => ItemKinds.Bytes(Text, Call, CallId);

    public string Kind => ItemKinds.Of(Call, CallId);
}

/// <summary>A function call a model made: the id its output must name, the function, and its arguments as JSON text.</summary>
[GenerateSerializer, Immutable, Alias("conv.FunctionCall")]
public sealed record FunctionCall(
    [property: Id(0)] string CallId,
    [property: Id(1)] string Name,
    [property: Id(2)] string Arguments);

/// <summary>
/// A function the model may call: its name, what it does, its parameters as a JSON Schema (JSON text),
/// and whether the client asked for strict adherence to that schema (null: it did not say).
/// </summary>
[GenerateSerializer, Immutable, Alias("conv.ToolDefinition")]
public sealed record ToolDefinition(
    [property: Id(0)] string Name,
    [property: Id(1)] string? Description,
    [property: Id(2)] string? Parameters,
    [property: Id(3)] bool? Strict = null);

/// <summary>The item types of OpenAI's Responses and Conversations APIs.</summary>
public static class ItemKinds
{
    public const string Message = "message";
    public const string FunctionCall = "function_call";
    public const string FunctionCallOutput = "function_call_output";

    public static string Of(FunctionCall? call, string? callId) =>
        call is not null ? FunctionCall : callId is not null ? FunctionCallOutput : Message;

    public static string CountedText(string text, FunctionCall? call) => call is null ? text : call.Name + " " + call.Arguments;

    /// <summary>The UTF-8 bytes of what a client chose: the text, a call's id, name and arguments, an output's call id.</summary>
    public static int Bytes(string text, FunctionCall? call, string? callId) =>
        Encoding.UTF8.GetByteCount(text) + Encoding.UTF8.GetByteCount(callId ?? string.Empty)
        + (call is null ? 0 : Encoding.UTF8.GetByteCount(call.CallId) + Encoding.UTF8.GetByteCount(call.Name) + Encoding.UTF8.GetByteCount(call.Arguments));
}

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

    /// <summary>The role of a function call's output; never sent as a plain message.</summary>
    public const string Tool = "tool";

    /// <summary>Whether a client may send a message with this role.</summary>
    public static bool IsKnown(string role) => role is System or Developer or User or Assistant;
}

/// <summary>The items a model call appends: its message (when it wrote text, or made no call) and one item per function call.</summary>
public static class OutputItems
{
    public static List<ConversationItem> Of(CompletionResult result, string messageId, string? responseId, DateTimeOffset now, Func<string, int> countTokens)
    {
        var items = new List<ConversationItem>(1 + result.Calls.Count);
        if (result.Text.Length > 0 || result.Calls.Count == 0)
        {
            items.Add(new ConversationItem(messageId, Roles.Assistant, result.Text, countTokens(result.Text), now, responseId));
        }

        items.AddRange(result.Calls.Select(call => new ConversationItem(
            Ids.New(Ids.FunctionCall), Roles.Assistant, string.Empty, countTokens(ItemKinds.CountedText(string.Empty, call)), now, responseId, call)));
        return items;
    }
}
