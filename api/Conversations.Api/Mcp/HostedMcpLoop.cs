using System.Runtime.CompilerServices;
using System.Text.Json;
using Conversations.Api.Endpoints;
using Conversations.Api.Streaming;
using Conversations.Mcp;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace Conversations.Api.Mcp;

/// <summary>
/// The server-side tool loop of a response with <c>mcp</c> tools: each server's tools are listed once per response chain
/// (an <c>mcp_list_tools</c> item, reused from the chain when it has one) and offered to the model as functions
/// (<see cref="McpItem.ModelName"/>), narrowed by the tool's <c>allowed_tools</c> and the key's <c>allowed_mcp_tools</c>;
/// the model's calls of them run through <see cref="McpToolCalls"/> (admitted, metered and audited as <c>/mcp</c>'s are) and
/// become <c>mcp_call</c> items; the model is called again with their outputs, each round a call of its own through the
/// whole pipeline (quotas, guardrails over the tool outputs it is sent), until it answers, calls a client function, or
/// <see cref="MaxRounds"/> is reached (the last round may not call tools).
/// </summary>
/// <remarks>
/// It yields the model's chunks as one call would: the text of every round, then one final chunk whose result holds the
/// mcp items before the model's own items, with the rounds' usage and cost summed. Items it finishes are also queued for
/// a stream to announce (<see cref="TakeFinished"/>) before the next chunk.
/// </remarks>
internal sealed class HostedMcpLoop(
    IReadOnlyList<HostedMcpServer> servers, IReadOnlyList<ConversationItem> chain, string responseId, string outputItemId, ApiServices api)
{
    public const int MaxRounds = 8;

    private readonly Queue<ConversationItem> _finished = new();
    private readonly Dictionary<string, (HostedMcpServer Server, string Tool)> _tools = new(StringComparer.Ordinal);

    /// <summary>The mcp items finished since the last call, in order.</summary>
    public IReadOnlyList<ConversationItem> TakeFinished()
    {
        var taken = _finished.ToList();
        _finished.Clear();
        return taken;
    }

    public async IAsyncEnumerable<CompletionChunk> Run(CompletionRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var items = new List<ConversationItem>();
        var definitions = new List<ToolDefinition>(request.Tools ?? []);
        foreach (var given in servers)
        {
            var resolved = await Resolve(given);
            var server = resolved.Value;
            var listed = resolved.IsSuccess ? await Listed(server!, items) : resolved.Error;
            if (!listed.IsSuccess)
            {
                yield return new ErrorChunk(listed.Error);
                yield break;
            }

            foreach (var tool in listed.Value.Tools ?? [])
            {
                var name = McpItem.ModelName(server!.Label, tool.Name);
                if (server.Allows(tool.Name) && api.Caller.MayUseMcpTool(name) && ToolCalls.IsName(name) && !definitions.Exists(d => d.Name == name))
                {
                    definitions.Add(new ToolDefinition(name, tool.Description, tool.InputSchema));
                    _tools[name] = (server, tool.Name);
                }
            }
        }

        var context = new List<NewItem>(request.Messages);
        var text = string.Empty;
        var usage = new TokenUsage(0, 0);
        var cost = 0m;
        for (var round = 1; ; round++)
        {
            var last = round == MaxRounds;
            var call = request with
            {
                Messages = context,
                Tools = definitions.Count > 0 ? definitions : null,
                ToolChoice = last && _tools.Count > 0 ? new ToolChoice(ToolChoice.None) : request.ToolChoice,
            };
            await using var reader = new ChunkReader(api.Inference.Complete(call, cancellationToken), api.Logger, cancellationToken);
            var chunk = await reader.NextAsync();
            for (; chunk is DeltaChunk; chunk = await reader.NextAsync())
            {
                yield return chunk;
            }

            if (chunk is not FinalChunk { Result: var result })
            {
                yield return chunk;
                yield break;
            }

            usage = new TokenUsage(usage.InputTokens + result.Usage.InputTokens, usage.OutputTokens + result.Usage.OutputTokens);
            cost += result.CostUsd;
            text += result.Text;
            var hosted = result.Calls.Where(c => _tools.ContainsKey(c.Name)).ToList();
            if (hosted.Count > 0)
            {
                if (result.Text.Length > 0)
                {
                    context.Add(new NewItem(Roles.Assistant, result.Text));
                }

                foreach (var made in hosted)
                {
                    var item = await Call(made);
                    items.Add(item);
                    _finished.Enqueue(item);
                    context.Add(NewItem.CallOf(made));
                    context.Add(NewItem.OutputOf(made.CallId, item.Mcp!.ModelOutput));
                }
            }

            var others = result.Calls.Where(c => !_tools.ContainsKey(c.Name)).ToList();
            if (hosted.Count == 0 || others.Count > 0 || last)
            {
                var answer = result with { Text = text, ToolCalls = others, Usage = usage, CostUsd = cost };
                var output = OutputItems.Of(answer, outputItemId, responseId, api.Clock.GetUtcNow(), _ => 0);
                yield return new FinalChunk(answer with { OutputItems = [.. items, .. output] }) { Info = chunk.Info };
                yield break;
            }
        }
    }

    /// <summary>
    /// A server given by URL under the label of a registered server is that server (its credential applies) when the URLs are
    /// the same, and refused otherwise; an unregistered label with a URL is a server of the request's own.
    /// </summary>
    private async Task<Result<HostedMcpServer>> Resolve(HostedMcpServer server)
    {
        if (server.Url is not { } url)
        {
            return server;
        }

        var registered = await api.Grains.GetGrain<IMcpServersGrain>(api.Tenant).Get(server.Label);
        return !registered.IsSuccess ? server
            : registered.Value.Url == url && server.Headers is null ? server with { Url = null }
            : GatewayError.Invalid(
                $"The MCP server '{server.Label}' is registered at another address or with the gateway's credential; name it by its label alone.", "tools", "invalid_value");
    }

    /// <summary>The server's tools: the chain's last list of them, or a new <c>mcp_list_tools</c> item.</summary>
    private async Task<Result<McpItem>> Listed(HostedMcpServer server, List<ConversationItem> items)
    {
        if (chain.LastOrDefault(item => item.Mcp is { Type: McpItem.ListTools, Error: null } mcp && mcp.ServerLabel == server.Label)?.Mcp is { } reused)
        {
            return reused;
        }

        var upstream = api.Grains.GetGrain<IMcpUpstreamGrain>(api.Tenant);
        var found = server.Target is { } target ? await upstream.ListToolsAt(target) : await upstream.ListTools(server.Label);
        if (!found.IsSuccess)
        {
            return found.Error.Status == 404
                ? GatewayError.Invalid($"No MCP server is registered as '{server.Label}'; register it or give its 'server_url'.", "tools", "invalid_value")
                : found.Error;
        }

        var tools = found.Value
            .Select(json => JsonSerializer.Deserialize<Tool>(json, McpJsonUtilities.DefaultOptions)!)
            .Where(tool => server.Allows(tool.Name) && api.Caller.MayUseMcpTool(McpItem.ModelName(server.Label, tool.Name)))
            .Select(tool => new McpListedTool(tool.Name, tool.Description, tool.InputSchema.GetRawText(),
                tool.Annotations is null ? null : JsonSerializer.Serialize(tool.Annotations, McpJsonUtilities.DefaultOptions)))
            .ToList();
        var listed = new McpItem(McpItem.ListTools, server.Label, Tools: tools);
        var item = new ConversationItem(Ids.New("mcpl"), Roles.Assistant, string.Empty, 0, api.Clock.GetUtcNow(), responseId, Mcp: listed);
        items.Add(item);
        _finished.Enqueue(item);
        return listed;
    }

    /// <summary>Runs one call of the model's as <c>/mcp</c> runs a call (<see cref="McpToolCalls"/>): an <c>mcp_call</c> item with its output or error.</summary>
    private async Task<ConversationItem> Call(FunctionCall made)
    {
        var (server, tool) = _tools[made.Name];
        var calls = new McpToolCalls(api.Caller, api.Http.Connection.RemoteIpAddress?.ToString(), api.Grains, api.Clock, api.LoggerFactory);
        var upstream = api.Grains.GetGrain<IMcpUpstreamGrain>(api.Tenant);
        string? output = null;
        string? error = null;
        try
        {
            var result = await calls.Run(made.Name, async () => UpstreamTools.Answer(
                server.Target is { } target
                    ? await upstream.CallToolAt(target, tool, made.Arguments, api.Caller.Guardrails)
                    : await upstream.CallTool(server.Label, tool, made.Arguments, api.Caller.Guardrails), made.Name));
            var text = string.Join("\n", result.Content.OfType<TextContentBlock>().Select(block => block.Text));
            (output, error) = result.IsError is true ? ((string?)null, text) : (text, (string?)null);
        }
        catch (McpException exception)
        {
            error = exception.Message;
        }

        var mcp = new McpItem(McpItem.Call, server.Label, tool, made.Arguments, output, error);
        return new ConversationItem(Ids.New("mcp"), Roles.Assistant, string.Empty, 0, api.Clock.GetUtcNow(), responseId, Mcp: mcp);
    }
}
