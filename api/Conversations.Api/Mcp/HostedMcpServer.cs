using System.Text.Json;
using Conversations.Mcp;

namespace Conversations.Api.Mcp;

/// <summary>
/// A Responses API tool of type <c>mcp</c>: a server the gateway calls for the model, named by <see cref="Label"/> (a server
/// the tenant registered) or at <see cref="Url"/> (held to the registration's address rules, with the request's own
/// <see cref="Headers"/>), narrowed to <see cref="AllowedTools"/> when given. Only <c>require_approval: "never"</c> is
/// accepted: the gateway does not yet stop for approvals.
/// </summary>
public sealed record HostedMcpServer(string Label, Uri? Url, IReadOnlySet<string>? AllowedTools, IReadOnlyDictionary<string, string>? Headers)
{
    public const string Type = "mcp";

    public McpServerTarget? Target => Url is null ? null : new McpServerTarget(Label, Url, Headers);

    public bool Allows(string tool) => AllowedTools is null || AllowedTools.Contains(tool);

    public static Result<HostedMcpServer> Read(JsonElement tool, string param)
    {
        var label = String(tool, "server_label");
        if (label is null)
        {
            return GatewayError.Invalid($"Missing required parameter: '{param}.server_label'.", $"{param}.server_label", "missing_required_parameter");
        }

        if (!McpServerRegistration.IsValidLabel(label))
        {
            return GatewayError.Invalid(
                $"Invalid '{param}.server_label': 1 to 32 lowercase letters, digits, dashes and single underscores, starting with a letter.", $"{param}.server_label", "invalid_value");
        }

        if (tool.TryGetProperty("connector_id", out _))
        {
            return GatewayError.Invalid("Connectors are not supported; name an MCP server by 'server_url' or by the label it was registered under.", $"{param}.connector_id", "unsupported_parameter");
        }

        if (!IsNever(tool))
        {
            return GatewayError.Invalid(
                "Only 'require_approval': 'never' is supported: this gateway does not yet stop for approvals of MCP tool calls.", $"{param}.require_approval", "unsupported_value");
        }

        Uri? url = null;
        if (tool.TryGetProperty("server_url", out var given) && given.ValueKind != JsonValueKind.Null
            && (given.ValueKind != JsonValueKind.String || !Uri.TryCreate(given.GetString(), UriKind.Absolute, out url) || url.Scheme is not ("http" or "https")))
        {
            return GatewayError.Invalid($"Invalid '{param}.server_url': expected an absolute http or https URL.", $"{param}.server_url", "invalid_value");
        }

        var allowed = ReadAllowed(tool, $"{param}.allowed_tools");
        var headers = ReadHeaders(tool, $"{param}.headers");
        if (!allowed.IsSuccess || !headers.IsSuccess)
        {
            return allowed.Error ?? headers.Error!;
        }

        var sent = headers.Value;
        if (String(tool, "authorization") is { Length: > 0 } token)
        {
            // OpenAI's 'authorization': an access token for the server, sent as a bearer token.
            sent ??= new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            sent["Authorization"] = "Bearer " + token;
        }

        return sent is not null && url is null
            ? GatewayError.Invalid($"Invalid '{param}.headers': headers may be sent only to a server given by 'server_url'; a registered server's credential is the gateway's.", $"{param}.headers", "invalid_value")
            : new HostedMcpServer(label, url, allowed.Value, sent);
    }

    private static bool IsNever(JsonElement tool) =>
        tool.TryGetProperty("require_approval", out var approval) && approval.ValueKind == JsonValueKind.String && approval.ValueEquals("never");

    /// <summary><c>allowed_tools</c>: a list of names, or <c>{"tool_names": […]}</c>.</summary>
    private static Result<HashSet<string>?> ReadAllowed(JsonElement tool, string param)
    {
        if (!tool.TryGetProperty("allowed_tools", out var allowed) || allowed.ValueKind == JsonValueKind.Null)
        {
            return (HashSet<string>?)null;
        }

        if (allowed.ValueKind == JsonValueKind.Object)
        {
            if (allowed.TryGetProperty("read_only", out var readOnly) && readOnly.ValueKind != JsonValueKind.Null)
            {
                return GatewayError.Invalid($"Invalid '{param}.read_only': filtering by annotations is not supported; list 'tool_names'.", $"{param}.read_only", "unsupported_parameter");
            }

            if (!allowed.TryGetProperty("tool_names", out allowed))
            {
                return GatewayError.Invalid($"Missing required parameter: '{param}.tool_names'.", $"{param}.tool_names", "missing_required_parameter");
            }
        }

        if (allowed.ValueKind != JsonValueKind.Array || allowed.EnumerateArray().Any(name => name.ValueKind != JsonValueKind.String))
        {
            return GatewayError.Invalid($"Invalid type for '{param}': expected an array of tool names.", param, "invalid_type");
        }

        return new HashSet<string>(allowed.EnumerateArray().Select(name => name.GetString()!), StringComparer.Ordinal);
    }

    private static Result<Dictionary<string, string>?> ReadHeaders(JsonElement tool, string param)
    {
        if (!tool.TryGetProperty("headers", out var headers) || headers.ValueKind == JsonValueKind.Null)
        {
            return (Dictionary<string, string>?)null;
        }

        if (headers.ValueKind != JsonValueKind.Object || headers.EnumerateObject().Any(header => header.Value.ValueKind != JsonValueKind.String))
        {
            return GatewayError.Invalid($"Invalid type for '{param}': expected an object of header names and string values.", param, "invalid_type");
        }

        return new Dictionary<string, string>(headers.EnumerateObject().Select(header => KeyValuePair.Create(header.Name, header.Value.GetString()!)), StringComparer.OrdinalIgnoreCase);
    }

    private static string? String(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
