using System.Text.Json;
using Conversations.Mcp;
using Conversations.Providers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Orleans.Concurrency;

namespace Conversations.Grains.Mcp;

/// <summary>
/// Calls one tenant's upstream MCP servers with the official MCP client; see <see cref="IMcpUpstreamGrain"/>. The
/// registration is read again for each call, and its credential checked again, so a removed server or a credential
/// withdrawn from the tenant stops at once. An upstream's refusal (an unknown tool, bad arguments) is a 400; a server
/// that cannot be reached or fails is a 502.
/// </summary>
[StatelessWorker]
public sealed partial class McpUpstreamGrain(
    IOptions<RoutingOptions> routing,
    IOptions<McpGatewayOptions> options,
    McpUpstreamHttp http,
    ILoggerFactory logs) : Grain, IMcpUpstreamGrain
{
    private readonly ILogger _logger = logs.CreateLogger<McpUpstreamGrain>();

    private string Tenant => this.GetPrimaryKeyString();

    public Task<Result<IReadOnlyList<string>>> ListTools(string label) => Upstream<IReadOnlyList<string>>(label, async (client, cancellation) =>
        [.. (await client.ListToolsAsync(cancellationToken: cancellation)).Select(tool => JsonSerializer.Serialize(tool.ProtocolTool, McpJsonUtilities.DefaultOptions))]);

    public Task<Result<string>> CallTool(string label, string tool, string? argumentsJson) => Upstream(label, async (client, cancellation) =>
    {
        var arguments = argumentsJson is null ? null : JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(argumentsJson);
        var result = await client.CallToolAsync(new CallToolRequestParams { Name = tool, Arguments = arguments }, cancellation);
        return JsonSerializer.Serialize(result, McpJsonUtilities.DefaultOptions);
    });

    private async Task<Result<T>> Upstream<T>(string label, Func<McpClient, CancellationToken, Task<T>> work)
    {
        var found = await GrainFactory.GetGrain<IMcpServersGrain>(Tenant).Get(label);
        if (!found.IsSuccess)
        {
            return found.Error;
        }

        var server = found.Value;
        if (McpServerAccess.RefuseCredential(routing.Value, Tenant, server) is { } refused)
        {
            return refused;
        }

        using var timeout = new CancellationTokenSource(options.Value.CallTimeout);
        try
        {
            await using var client = await Connect(server, timeout.Token);
            return await work(client, timeout.Token);
        }
        catch (McpProtocolException exception)
        {
            return GatewayError.Invalid($"The MCP server '{label}' refused the request: {exception.Message}", null, "mcp_error");
        }
        catch (Exception exception) when (exception is HttpRequestException or McpException or OperationCanceledException or IOException or JsonException)
        {
            LogUpstreamFailed(exception, label, Tenant);
            return new GatewayError(502, "upstream_error", "upstream_error", $"The MCP server '{label}' could not be reached or failed; try again later.");
        }
    }

    private Task<McpClient> Connect(McpServerRegistration server, CancellationToken cancellation)
    {
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        var credential = server.Credential is { } name ? routing.Value.Credentials.GetValueOrDefault(name) : null; // checked by RefuseCredential
        if (credential?.ApiKey is { } key)
        {
            headers["Authorization"] = "Bearer " + key;
        }

        var transport = new HttpClientTransport(
            new HttpClientTransportOptions { Endpoint = server.Url, TransportMode = HttpTransportMode.StreamableHttp, AdditionalHeaders = headers, Name = server.Label },
            credential is not null ? http.Operator : http.Tenant, logs, ownsHttpClient: false);
        return McpClient.CreateAsync(transport, new McpClientOptions { ClientInfo = new Implementation { Name = "conversations-gateway", Version = "1.0" } }, logs, cancellation);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The MCP server {Label} of tenant {Tenant} could not be reached or failed")]
    private partial void LogUpstreamFailed(Exception exception, string label, string tenant);
}
