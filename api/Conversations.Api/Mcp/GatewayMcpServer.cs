using Conversations.Api.Security;
using Conversations.Tenancy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Conversations.Api.Mcp;

/// <summary>
/// The built-in MCP server at <c>/mcp</c> (Streamable HTTP, the official SDK), authenticated by the same API keys. It is
/// stateless: every request is its own server, given the tools its caller's scopes allow (<see cref="MemoryTools"/>), so
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
                    var tools = MemoryTools.For(http.User.Caller(), http.RequestServices);
                    server.Capabilities = new ServerCapabilities { Tools = new ToolsCapability() };
                    server.ToolCollection = [.. tools];
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
