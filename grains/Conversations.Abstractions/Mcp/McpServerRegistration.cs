using System.Text.RegularExpressions;

namespace Conversations.Mcp;

/// <summary>
/// An upstream MCP server a tenant registered: its <see cref="Label"/> prefixes its tools at the gateway's <c>/mcp</c>
/// (<c>{label}__{tool}</c>), its <see cref="Url"/> is its Streamable HTTP endpoint, and <see cref="Credential"/> names a
/// credential of the silos' configuration (<c>Conversations:Credentials</c>) whose key is sent to it as a bearer token;
/// the key itself never passes through the API.
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.ServerRegistration")]
public sealed partial record McpServerRegistration(
    [property: Id(0)] string Label,
    [property: Id(1)] Uri Url,
    [property: Id(2)] string? Credential,
    [property: Id(3)] string? Description,
    [property: Id(4)] DateTimeOffset CreatedAt)
{
    /// <summary>Between a server's label and its tool's name in the gateway's tool names.</summary>
    public const string Separator = "__";

    /// <summary>At most this many upstream servers per tenant.</summary>
    public const int MaxPerTenant = 50;

    /// <summary>The gateway's name for the server's tool <paramref name="tool"/>.</summary>
    public string ToolName(string tool) => Label + Separator + tool;

    /// <summary>The label and upstream tool name of a gateway tool name, or null when it names no upstream tool.</summary>
    public static (string Label, string Tool)? Split(string toolName)
    {
        var at = toolName.IndexOf(Separator, StringComparison.Ordinal);
        return at > 0 && at + Separator.Length < toolName.Length ? (toolName[..at], toolName[(at + Separator.Length)..]) : null;
    }

    /// <summary>1 to 32 lowercase letters, digits, dashes and single underscores, starting with a letter: it cannot hold the separator.</summary>
    public static bool IsValidLabel(string? label) => label is not null && LabelPattern().IsMatch(label) && !label.Contains(Separator, StringComparison.Ordinal);

    [GeneratedRegex("^[a-z][a-z0-9_-]{0,31}$", RegexOptions.CultureInvariant)]
    private static partial Regex LabelPattern();
}
