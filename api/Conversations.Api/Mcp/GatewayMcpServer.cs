using Conversations.Api.Security;
using Conversations.Tenancy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Conversations.Api.Mcp;

/// <summary>
/// The gateway's MCP server at <c>/mcp</c> (Streamable HTTP, the official SDK), authenticated by the same API keys. It is
/// stateless: every request is its own server, given the built-in tools its caller's scopes allow (<see cref="MemoryTools"/>)
/// and the tools of its tenant's upstream servers (<see cref="UpstreamTools"/>), both narrowed by the key's
/// <c>allowed_mcp_tools</c>, each call metered and audited (<see cref="McpToolCalls"/>), so
/// there is no session to lose when a client reconnects to another API process.
/// </summary>
public static class GatewayMcpServer
{
    public const string Path = "/mcp";

    public static IServiceCollection AddGatewayMcpServer(this IServiceCollection services)
    {
        services.AddMcpServer(options => options.ServerInfo = new Implementation { Name = "conversations", Version = "1.0" })
            .WithHttpTransport(options =>
            {
                options.SessionMode = HttpServerSessionMode.Stateless;
                options.ConfigureSessionOptions = (http, server, _) =>
                {
                    var caller = http.User.Caller();
                    var services = http.RequestServices;
                    var grains = services.GetRequiredService<IGrainFactory>();
                    var logs = services.GetRequiredService<ILoggerFactory>();
                    var calls = new McpToolCalls(caller, http.Connection.RemoteIpAddress?.ToString(), grains, services.GetRequiredService<TimeProvider>(), logs);
                    var upstream = new UpstreamTools(caller, grains, calls, logs.CreateLogger<UpstreamTools>());
                    server.Capabilities = new ServerCapabilities { Tools = new ToolsCapability() };
                    server.ToolCollection = [.. MemoryTools.For(caller, services).Where(tool => caller.MayUseMcpTool(tool.ProtocolTool.Name)).Select(tool => new MeteredTool(tool, calls))];
                    server.Handlers.ListToolsHandler = upstream.List;
                    server.Handlers.CallToolHandler = upstream.Call;
                    return Task.CompletedTask;
                };
            });
        return services;
    }

    public static IEndpointRouteBuilder MapGatewayMcpServer(this IEndpointRouteBuilder app)
    {
        app.MapMcp(Path).RequireAuthorization().WithTags("MCP");
        return app;
    }
}
