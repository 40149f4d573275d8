namespace Conversations.Tenancy;

/// <summary>
/// A key's allowlist of MCP tools at <c>/mcp</c> (<c>allowed_mcp_tools</c>): null allows every tool its scopes give it, an
/// empty list none. An entry is a tool's name (<c>knowledge_search</c>, <c>github__create_issue</c>) or every tool of one
/// upstream server (<c>github__*</c>). A tool not allowed is absent from the key's tool list and refused as unknown.
/// </summary>
public static class McpToolAllowlist
{
    public const string AllOfServer = "__*";

    public static bool Allows(IReadOnlyList<string>? allowlist, string tool) =>
        allowlist is null || allowlist.Any(entry => entry == tool
            || (entry.EndsWith(AllOfServer, StringComparison.Ordinal) && tool.StartsWith(entry[..^1], StringComparison.Ordinal)));

    /// <summary>Whether <paramref name="inner"/> allows nothing <paramref name="outer"/> does not: each entry allowed, a server's wildcard only by the same wildcard.</summary>
    public static bool Includes(IReadOnlyList<string>? outer, IReadOnlyList<string>? inner) =>
        outer is null || (inner is not null && inner.All(entry => entry.EndsWith(AllOfServer, StringComparison.Ordinal) ? outer.Contains(entry, StringComparer.Ordinal) : Allows(outer, entry)));

    /// <summary>An entry is 1 to 160 characters of letters, digits, <c>_</c>, <c>-</c>, <c>.</c>, optionally ending in <c>__*</c>.</summary>
    public static bool IsValidEntry(string? entry) =>
        entry is { Length: > 0 and <= 160 } && (entry.EndsWith(AllOfServer, StringComparison.Ordinal) ? entry[..^AllOfServer.Length] : entry) is { Length: > 0 } name
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.');
}
