using System.Text.Json;
using Conversations.Guardrails;
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

    public async Task<Result<IReadOnlyList<string>>> ListTools(string label) =>
        await Registered(label) is var server && server.IsSuccess ? await Upstream(server.Value, null, ListWork) : server.Error;

    public async Task<Result<string>> CallTool(string label, string tool, string? argumentsJson, GuardrailPolicy? guardrails) =>
        await Registered(label) is var server && server.IsSuccess ? await Upstream(server.Value, null, CallWork(tool, argumentsJson, guardrails)) : server.Error;

    public async Task<Result<IReadOnlyList<string>>> ListToolsAt(McpServerTarget server) =>
        await Target(server) is var target && target.IsSuccess ? await Upstream(target.Value, server.Headers, ListWork) : target.Error;

    public async Task<Result<string>> CallToolAt(McpServerTarget server, string tool, string? argumentsJson, GuardrailPolicy? guardrails) =>
        await Target(server) is var target && target.IsSuccess ? await Upstream(target.Value, server.Headers, CallWork(tool, argumentsJson, guardrails)) : target.Error;

    private static async Task<IReadOnlyList<string>> ListWork(McpClient client, CancellationToken cancellation) =>
        [.. (await client.ListToolsAsync(cancellationToken: cancellation)).Select(tool => JsonSerializer.Serialize(tool.ProtocolTool, McpJsonUtilities.DefaultOptions))];

    private Func<McpClient, CancellationToken, Task<string>> CallWork(string tool, string? argumentsJson, GuardrailPolicy? guardrails) => async (client, cancellation) =>
    {
        var arguments = argumentsJson is null ? null : JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(argumentsJson);
        var result = await client.CallToolAsync(new CallToolRequestParams { Name = tool, Arguments = arguments }, cancellation);
        return JsonSerializer.Serialize(ToolAnswerScreen.Run(result, guardrails, Tenant), McpJsonUtilities.DefaultOptions);
    };

    /// <summary>The tenant's registration of <paramref name="label"/>, its credential checked again.</summary>
    private async Task<Result<McpServerRegistration>> Registered(string label)
    {
        var found = await GrainFactory.GetGrain<IMcpServersGrain>(Tenant).Get(label);
        return !found.IsSuccess ? found.Error
            : McpServerAccess.RefuseCredential(routing.Value, Tenant, found.Value) is { } refused ? refused
            : found;
    }

    /// <summary>A server named by URL, as a registration without a credential: refused when its name resolves inside the network (checked again at connection).</summary>
    private async Task<Result<McpServerRegistration>> Target(McpServerTarget target)
    {
        var server = new McpServerRegistration(target.Label, target.Url, null, null, DateTimeOffset.MinValue);
        return await McpServerAccess.RefuseAddress(server, options.Value.AllowPrivateAddresses) is { } refused
            ? refused with { Param = "server_url", Message = refused.Message.Replace("'url'", "'server_url'", StringComparison.Ordinal) }
            : server;
    }

    private async Task<Result<T>> Upstream<T>(McpServerRegistration server, IReadOnlyDictionary<string, string>? headers, Func<McpClient, CancellationToken, Task<T>> work)
    {
        var label = server.Label;
        using var timeout = new CancellationTokenSource(options.Value.CallTimeout);
        try
        {
            await using var client = await Connect(server, headers, timeout.Token);
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

    private Task<McpClient> Connect(McpServerRegistration server, IReadOnlyDictionary<string, string>? given, CancellationToken cancellation)
    {
        var headers = new Dictionary<string, string>(given ?? new Dictionary<string, string>(), StringComparer.Ordinal);
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
