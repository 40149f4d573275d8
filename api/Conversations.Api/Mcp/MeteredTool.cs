using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Conversations.Api.Mcp;

/// <summary>A tool whose every call goes through <see cref="McpToolCalls"/>: admitted, settled in usage and audited.</summary>
public sealed class MeteredTool(McpServerTool inner, McpToolCalls calls) : DelegatingMcpServerTool(inner)
{
    public override ValueTask<CallToolResult> InvokeAsync(RequestContext<CallToolRequestParams> request, CancellationToken cancellationToken = default) =>
        calls.Run(ProtocolTool.Name, () => base.InvokeAsync(request, cancellationToken));
}
