using Microsoft.Extensions.Options;

namespace Conversations.Grains.Mcp;

/// <summary>
/// The HTTP clients that reach upstream MCP servers, one per silo: <see cref="Operator"/> for servers under a configured
/// credential's base URL (the operator chose that address), <see cref="Tenant"/> for any other, which connects only to
/// public addresses (<see cref="UpstreamAddresses"/>) unless <see cref="McpGatewayOptions.AllowPrivateAddresses"/>.
/// Neither follows redirects: a redirect could lead a request elsewhere than where it was checked to go.
/// </summary>
public sealed class McpUpstreamHttp : IDisposable
{
    public McpUpstreamHttp(IOptions<McpGatewayOptions> options)
    {
        Operator = new HttpClient(Handler()) { Timeout = Timeout.InfiniteTimeSpan };
        Tenant = options.Value.AllowPrivateAddresses
            ? Operator
            : new HttpClient(Handler(connect: (context, cancellation) => UpstreamAddresses.ConnectPublic(context.DnsEndPoint, cancellation))) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public HttpClient Operator { get; }

    public HttpClient Tenant { get; }

    public void Dispose()
    {
        Operator.Dispose();
        Tenant.Dispose();
    }

    private static SocketsHttpHandler Handler(Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>>? connect = null) => new()
    {
        AllowAutoRedirect = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectCallback = connect,
    };
}
