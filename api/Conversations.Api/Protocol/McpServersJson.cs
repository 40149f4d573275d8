using Conversations.Mcp;

namespace Conversations.Api;

/// <summary>What registers an upstream MCP server: its label (the prefix of its tools), URL, and the name of a credential configured on the silos.</summary>
public sealed record McpServerCreateJson(string? Label, string? Url, string? Credential, string? Description);

/// <summary>A registered upstream MCP server; <c>credential</c> is the credential's name, never its key.</summary>
public sealed record McpServerJson(string Label, string Url, string? Credential, string? Description, long CreatedAt)
{
    public string Object => "mcp_server";

    public static McpServerJson From(McpServerRegistration server) =>
        new(server.Label, server.Url.ToString(), server.Credential, server.Description, server.CreatedAt.ToUnixTimeSeconds());
}
