using Conversations.Mcp;
using Conversations.Providers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Conversations.Grains.Mcp;

/// <summary>A tenant's registered upstream MCP servers; see <see cref="IMcpServersGrain"/>.</summary>
public sealed class McpServersGrain(
    [PersistentState("mcp-servers", StorageNames.Conversations)] IPersistentState<McpServersState> state,
    IOptions<RoutingOptions> routing,
    IOptions<McpGatewayOptions> options,
    ILogger<McpServersGrain> logger) : Grain, IMcpServersGrain
{
    private string Tenant => this.GetPrimaryKeyString();

    public async Task<Result<McpServerRegistration>> Register(McpServerRegistration server)
    {
        if (state.State.Servers.Any(s => s.Label == server.Label))
        {
            return GatewayError.Conflict($"An MCP server labelled '{server.Label}' is already registered.", "mcp_server_exists");
        }

        if (state.State.Servers.Count >= McpServerRegistration.MaxPerTenant)
        {
            return new GatewayError(429, "invalid_request_error", "mcp_server_limit_reached",
                $"A tenant registers at most {McpServerRegistration.MaxPerTenant} MCP servers; remove one first.");
        }

        if ((McpServerAccess.RefuseCredential(routing.Value, Tenant, server) ?? await McpServerAccess.RefuseAddress(server, options.Value.AllowPrivateAddresses)) is { } refused)
        {
            return refused;
        }

        return await state.TryReplace(new McpServersState { Servers = [.. state.State.Servers, server] }, this, logger) is { } failed ? failed : server;
    }

    public Task<Result<McpServerRegistration>> Get(string label) => Task.FromResult(
        state.State.Servers.Find(s => s.Label == label) is { } server ? server : (Result<McpServerRegistration>)NotFound(label));

    public Task<IReadOnlyList<McpServerRegistration>> List() => Task.FromResult<IReadOnlyList<McpServerRegistration>>(state.State.Servers);

    public async Task<Result<McpServerRegistration>> Remove(string label)
    {
        if (state.State.Servers.Find(s => s.Label == label) is not { } server)
        {
            return NotFound(label);
        }

        return await state.TryReplace(new McpServersState { Servers = state.State.Servers.FindAll(s => s.Label != label) }, this, logger) is { } failed ? failed : server;
    }

    private static GatewayError NotFound(string label) => GatewayError.NotFound("MCP server", label);
}

[GenerateSerializer, Alias("mcp.ServersState")]
public sealed record McpServersState
{
    [Id(0)] public List<McpServerRegistration> Servers { get; init; } = [];
}
