using System.Text.Json;
using System.Text.Json.Serialization;
using Conversations.Mcp;

namespace Conversations.Api;

/// <summary>The items a hosted MCP tool adds to a response's output, as OpenAI writes them.</summary>
public static class McpItemJson
{
    public static ItemJson From(string id, McpItem item) => item.Type == McpItem.ListTools
        ? new McpListToolsItemJson(id, "completed", item.ServerLabel, [.. (item.Tools ?? []).Select(McpListedToolJson.From)], item.Error)
        : new McpCallItemJson(id, item.Error is null ? "completed" : "failed", item.ServerLabel, item.Name ?? string.Empty, item.Arguments ?? "{}", item.Output, item.Error);
}

/// <summary>An <c>mcp_list_tools</c> item: the tools a server offered the model.</summary>
public sealed record McpListToolsItemJson(
    string Id, string Status, string ServerLabel, IReadOnlyList<McpListedToolJson> Tools,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Error) : ItemJson(Id, Status);

public sealed record McpListedToolJson(string Name, string? Description, JsonElement InputSchema, JsonElement? Annotations)
{
    public static McpListedToolJson From(McpListedTool tool) => new(
        tool.Name, tool.Description, JsonSerializer.Deserialize<JsonElement>(tool.InputSchema),
        tool.Annotations is null ? null : JsonSerializer.Deserialize<JsonElement>(tool.Annotations));
}

/// <summary>An <c>mcp_call</c> item: a tool the gateway called for the model, with its arguments and its output or error.</summary>
public sealed record McpCallItemJson(
    string Id, string Status, string ServerLabel, string Name, string Arguments,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Output,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Error,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? ApprovalRequestId = null) : ItemJson(Id, Status);
