namespace Conversations.Mcp;

/// <summary>
/// What a hosted MCP tool of the Responses API did, kept on a response's output item (<see cref="ConversationItem.Mcp"/>):
/// the tools a server listed (<c>mcp_list_tools</c>), or one tool call with its arguments and its output or error
/// (<c>mcp_call</c>). A model sees a call as a function call named <see cref="ModelName"/> followed by its output.
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.Item")]
public sealed record McpItem(
    [property: Id(0)] string Type,
    [property: Id(1)] string ServerLabel,
    [property: Id(2)] string? Name = null,
    [property: Id(3)] string? Arguments = null,
    [property: Id(4)] string? Output = null,
    [property: Id(5)] string? Error = null,
    [property: Id(6)] IReadOnlyList<McpListedTool>? Tools = null)
{
    public const string ListTools = "mcp_list_tools";
    public const string Call = "mcp_call";

    /// <summary>A call's outcome as the model reads it: its output, or its error.</summary>
    public string ModelOutput => Error is null ? Output ?? string.Empty : "Error: " + Error;

    /// <summary>The function name a model is given for the tool <paramref name="tool"/> of server <paramref name="label"/>, as <c>/mcp</c> names it.</summary>
    public static string ModelName(string label, string tool) => label + McpServerRegistration.Separator + tool;

    /// <summary>The items a model is given for stored <paramref name="items"/>: an <c>mcp_call</c> as a function call and its output; a tool list as nothing.</summary>
    public static IEnumerable<NewItem> ForModel(IEnumerable<ConversationItem> items)
    {
        foreach (var item in items)
        {
            if (item.Mcp is not { } mcp)
            {
                yield return item.ToNew();
            }
            else if (mcp.Type == Call)
            {
                yield return NewItem.CallOf(new FunctionCall(item.Id, ModelName(mcp.ServerLabel, mcp.Name!), mcp.Arguments ?? "{}"));
                yield return NewItem.OutputOf(item.Id, mcp.ModelOutput);
            }
        }
    }
}

/// <summary>One tool an MCP server listed: its name, description, input schema (JSON text) and annotations (JSON text, or null).</summary>
[GenerateSerializer, Immutable, Alias("mcp.ListedTool")]
public sealed record McpListedTool(
    [property: Id(0)] string Name,
    [property: Id(1)] string? Description,
    [property: Id(2)] string InputSchema,
    [property: Id(3)] string? Annotations = null);

/// <summary>
/// A server a request names by URL (the Responses API's <c>server_url</c>) rather than by a registration: no credential of
/// the gateway's goes to it, only the request's own <see cref="Headers"/>, and it is held to the same address rules as a
/// server registered without a credential.
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.ServerTarget")]
public sealed record McpServerTarget(
    [property: Id(0)] string Label,
    [property: Id(1)] Uri Url,
    [property: Id(2)] IReadOnlyDictionary<string, string>? Headers = null);
