using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Conversations.Tests.Mcp;

/// <summary>The official MCP C# client, connected to a gateway's <c>/mcp</c> over Streamable HTTP with an API key.</summary>
public static class GatewayMcpClient
{
    public static async Task<McpClient> Connect(Uri gateway, string key) => await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
    {
        Endpoint = new Uri(gateway, "/mcp"),
        TransportMode = HttpTransportMode.StreamableHttp,
        AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + key },
    }));

    /// <summary>A tool result's one text block.</summary>
    public static string Text(CallToolResult result) => Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text;
}
