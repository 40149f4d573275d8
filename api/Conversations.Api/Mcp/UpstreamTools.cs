using System.Text.Json;
using Conversations.Mcp;
using Conversations.Tenancy;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Conversations.Api.Mcp;

/// <summary>
/// The tools of the tenant's upstream MCP servers at <c>/mcp</c>, named <c>{label}__{tool}</c>: listed from every
/// registered server (one that fails is left out of the list, and logged), and called through a silo
/// (<see cref="IMcpUpstreamGrain"/>, where the credentials are). A tool the key's <c>allowed_mcp_tools</c> does not allow
/// is absent from the list and refused as unknown, exactly as a tool that does not exist.
/// </summary>
public sealed partial class UpstreamTools(Caller caller, IGrainFactory grains, McpToolCalls calls, ILogger logger)
{
    public async ValueTask<ListToolsResult> List(RequestContext<ListToolsRequestParams> request, CancellationToken cancellationToken)
    {
        var servers = await grains.GetGrain<IMcpServersGrain>(caller.Tenant).List();
        var upstream = grains.GetGrain<IMcpUpstreamGrain>(caller.Tenant);
        var listed = await Task.WhenAll(servers.Select(async server => (Server: server, Tools: await upstream.ListTools(server.Label))));
        var tools = new List<Tool>();
        foreach (var (server, found) in listed)
        {
            if (!found.IsSuccess)
            {
                LogNotListed(server.Label, caller.Tenant, found.Error.Message);
                continue;
            }

            foreach (var json in found.Value)
            {
                var tool = JsonSerializer.Deserialize<Tool>(json, McpJsonUtilities.DefaultOptions)!;
                tool.Name = server.ToolName(tool.Name);
                if (caller.MayUseMcpTool(tool.Name))
                {
                    tools.Add(tool);
                }
            }
        }

        return new ListToolsResult { Tools = tools };
    }

    public async ValueTask<CallToolResult> Call(RequestContext<CallToolRequestParams> request, CancellationToken cancellationToken)
    {
        var name = request.Params?.Name ?? string.Empty;
        if (!caller.MayUseMcpTool(name) || McpServerRegistration.Split(name) is not { } target)
        {
            throw Unknown(name);
        }

        return await calls.Run(name, async () =>
        {
            var arguments = request.Params!.Arguments is { } given ? JsonSerializer.Serialize(given, McpJsonUtilities.DefaultOptions) : null;
            return Answer(await grains.GetGrain<IMcpUpstreamGrain>(caller.Tenant).CallTool(target.Label, target.Tool, arguments, caller.Guardrails), name);
        });
    }

    /// <summary>An upstream's answer as MCP's result, or its refusal as the exception the SDK turns into the right error.</summary>
    public static CallToolResult Answer(Result<string> called, string name) => called.IsSuccess
        ? JsonSerializer.Deserialize<CallToolResult>(called.Value, McpJsonUtilities.DefaultOptions)!
        : throw (called.Error.Status switch
        {
            404 => Unknown(name), // no server with that label
            400 => new McpProtocolException(called.Error.Message, McpErrorCode.InvalidParams),
            _ => new McpException(called.Error.Message),
        });

    /// <summary>What the SDK answers for a tool it does not have, so that a tool held back looks like one that does not exist.</summary>
    private static McpProtocolException Unknown(string name) => new($"Unknown tool: '{name}'", McpErrorCode.InvalidParams);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The tools of MCP server {Label} of tenant {Tenant} could not be listed: {Error}")]
    private partial void LogNotListed(string label, string tenant, string error);
}
