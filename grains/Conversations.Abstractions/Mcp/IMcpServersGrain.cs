using Orleans.Concurrency;

namespace Conversations.Mcp;

/// <summary>A tenant's registered upstream MCP servers, keyed by tenant, by label.</summary>
public interface IMcpServersGrain : IGrainWithStringKey
{
    /// <summary>
    /// Registers a server under a new label: a 409 when the label is taken, a 400 naming <c>url</c> or <c>credential</c>
    /// when the address may not be reached from the gateway or the credential may not be used for it by this tenant.
    /// </summary>
    Task<Result<McpServerRegistration>> Register(McpServerRegistration server);

    [AlwaysInterleave]
    Task<Result<McpServerRegistration>> Get(string label);

    [AlwaysInterleave]
    Task<IReadOnlyList<McpServerRegistration>> List();

    Task<Result<McpServerRegistration>> Remove(string label);
}

/// <summary>
/// Calls a tenant's upstream MCP servers from a silo, where the credentials are (keyed by tenant; a stateless worker, so
/// every silo has its own). Each call opens its own upstream session and closes it: nothing is held between calls, so a
/// client reconnecting to another API process loses nothing. Tools and results cross as MCP's own JSON.
/// </summary>
public interface IMcpUpstreamGrain : IGrainWithStringKey
{
    /// <summary>The tools of the server registered as <paramref name="label"/>, each as MCP's JSON of a tool, under its upstream name.</summary>
    Task<Result<IReadOnlyList<string>>> ListTools(string label);

    /// <summary>
    /// Calls the upstream tool <paramref name="tool"/> with <paramref name="argumentsJson"/> (a JSON object, or null): MCP's JSON
    /// of the result, its text screened under <paramref name="guardrails"/> (the caller's) as a tool output is.
    /// </summary>
    Task<Result<string>> CallTool(string label, string tool, string? argumentsJson, Guardrails.GuardrailPolicy? guardrails);

    /// <summary>As <see cref="ListTools"/>, for a server a request names by URL: a 400 naming <c>server_url</c> when its address is inside the network.</summary>
    Task<Result<IReadOnlyList<string>>> ListToolsAt(McpServerTarget server);

    /// <summary>As <see cref="CallTool"/>, for a server a request names by URL.</summary>
    Task<Result<string>> CallToolAt(McpServerTarget server, string tool, string? argumentsJson, Guardrails.GuardrailPolicy? guardrails);
}
