using System.Collections.Concurrent;
using System.ComponentModel;
using Conversations.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Server;

namespace Conversations.Tests.Mcp;

/// <summary>
/// A small real MCP server for the gateway to federate: the official SDK (<c>ModelContextProtocol.AspNetCore</c>) on
/// Kestrel at a free loopback port, with three tools, recording the <c>Authorization</c> header of every request and the
/// name of every tool called.
/// </summary>
public sealed class UpstreamMcpServer : IAsyncDisposable
{
    public const string CredentialKey = "mcp-upstream-secret-4242";

    private readonly WebApplication _app;

    private UpstreamMcpServer(WebApplication app, Uri url, ConcurrentQueue<string> called)
    {
        _app = app;
        Url = url;
        Called = called;
    }

    /// <summary>Its MCP endpoint.</summary>
    public Uri Url { get; }

    /// <summary>The <c>Authorization</c> header of every request it received (empty when there was none).</summary>
    public ConcurrentQueue<string> Authorizations { get; } = new();

    /// <summary>The tools it ran, in order.</summary>
    public ConcurrentQueue<string> Called { get; }

    /// <param name="more">Tools served besides the three of every instance.</param>
    public static async Task<UpstreamMcpServer> StartAsync(params McpServerTool[] more)
    {
        var port = FreePorts.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var called = new ConcurrentQueue<string>();
        builder.Services.AddMcpServer()
            .WithHttpTransport()
            .WithTools([
                McpServerTool.Create(
                    ([Description("A city's name.")] string city) => { called.Enqueue("forecast"); return $"Sunny in {city}, 24 °C."; },
                    new McpServerToolCreateOptions { Name = "forecast", Description = "Tomorrow's weather in a city." }),
                McpServerTool.Create(
                    ([Description("The repository.")] string name) => { called.Enqueue("delete_repository"); return $"Deleted {name}."; },
                    new McpServerToolCreateOptions { Name = "delete_repository", Description = "Delete a repository for good.", Destructive = true }),
                McpServerTool.Create(
                    () => { called.Enqueue("fail"); return ThrowFailure(); },
                    new McpServerToolCreateOptions { Name = "fail", Description = "Always fails." }),
                .. more,
            ]);
        var app = builder.Build();
        var server = new UpstreamMcpServer(app, new Uri($"http://127.0.0.1:{port}/mcp"), called);
        app.Use(async (context, next) =>
        {
            server.Authorizations.Enqueue(context.Request.Headers.Authorization.ToString());
            await next(context);
        });
        app.MapMcp("/mcp");
        await app.StartAsync();
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static string ThrowFailure() => throw new InvalidOperationException("the upstream tool failed");
}
