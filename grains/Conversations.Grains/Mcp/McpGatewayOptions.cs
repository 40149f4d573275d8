namespace Conversations.Grains.Mcp;

/// <summary>The MCP gateway's settings (<c>Conversations:Mcp</c>), read by the silos that call upstream MCP servers.</summary>
public sealed class McpGatewayOptions
{
    public const string Section = "Conversations:Mcp";

    /// <summary>
    /// Whether a server registered without a credential may be at a loopback, private or link-local address. Off: only
    /// public addresses (a server under a configured credential's <c>BaseUrl</c> is the operator's, and may be anywhere).
    /// </summary>
    public bool AllowPrivateAddresses { get; set; }

    /// <summary>How long one upstream call (its session, listing or tool call) may take; below Orleans' 30 s call timeout.</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(25);
}
