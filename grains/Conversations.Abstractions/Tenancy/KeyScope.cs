using System.Globalization;

namespace Conversations.Tenancy;

/// <summary>
/// Everything a key can do: its role, the models and endpoint groups it may use (empty: all), the MCP tools it may
/// use (null: all, <see cref="McpToolAllowlist"/>), its
/// limits (a null limit: none) and its expiry (null: never). The one rule for acting on keys and routes:
/// a key creates, rotates or revokes only keys within its own scope, and manages only the routes of
/// models it may use. Anything else would let it reach, through the other key or route, beyond itself.
/// </summary>
public sealed record KeyScope(
    Role Role,
    IReadOnlyList<string> Models,
    IReadOnlyList<string> Endpoints,
    Limits Limits,
    DateTimeOffset? ExpiresAt,
    IReadOnlyList<string>? McpTools = null)
{
    /// <summary>Each limit by its name on the wire: one present on the outer scope must be present, and no higher, on the inner.</summary>
    private static readonly (string Param, Func<Limits, decimal?> Of)[] LimitFields =
    [
        ("limits.requests_per_minute", l => l.RequestsPerMinute),
        ("limits.tokens_per_minute", l => l.TokensPerMinute),
        ("limits.max_concurrent_requests", l => l.MaxConcurrentRequests),
        ("limits.daily_tokens", l => l.DailyTokens),
        ("limits.monthly_tokens", l => l.MonthlyTokens),
        ("limits.daily_cost_usd", l => l.DailyCostUsd),
        ("limits.monthly_cost_usd", l => l.MonthlyCostUsd),
    ];

    /// <summary>Whether a scope list (models or endpoint groups) allows an item: an empty list allows all.</summary>
    public static bool Allows(IReadOnlyList<string> scope, string item) => scope.Count == 0 || scope.Contains(item, StringComparer.Ordinal);

    /// <summary>Null when <paramref name="other"/> is within this scope; otherwise a 403 naming the first field in which it reaches further.</summary>
    public GatewayError? Refuses(KeyScope other)
    {
        if (other.Role > Role)
        {
            return Beyond("role", "its role is higher than this key's");
        }

        if (!Includes(Models, other.Models))
        {
            return Beyond("allowed_models", $"its allowed_models must be set and among {string.Join(", ", Models)}");
        }

        if (!Includes(Endpoints, other.Endpoints))
        {
            return Beyond("allowed_endpoints", $"its allowed_endpoints must be set and among {string.Join(", ", Endpoints)}");
        }

        if (!McpToolAllowlist.Includes(McpTools, other.McpTools))
        {
            return Beyond("allowed_mcp_tools", $"its allowed_mcp_tools must be set and among {string.Join(", ", McpTools ?? [])}");
        }

        foreach (var (param, of) in LimitFields)
        {
            if (of(Limits) is { } most && !(of(other.Limits) <= most))
            {
                return Beyond(param, $"its {param} must be set and at most {most.ToString(CultureInfo.InvariantCulture)}");
            }
        }

        return ExpiresAt is { } end && !(other.ExpiresAt <= end)
            ? Beyond("expires_at", $"its expires_at must be set and no later than this key's, {end.ToUnixTimeSeconds()}")
            : null;
    }

    /// <summary>Null when this scope may manage the route of <paramref name="alias"/>; a model it may not use is absent to it (404).</summary>
    public GatewayError? RefusesRoute(string alias) =>
        Allows(Models, alias) ? null : GatewayError.ModelNotFound(alias) with { Param = "alias" };

    /// <summary>An inner list within an outer one; an empty inner list means all, so only an empty outer list holds it.</summary>
    private static bool Includes(IReadOnlyList<string> outer, IReadOnlyList<string> inner) =>
        outer.Count == 0 || (inner.Count > 0 && inner.All(item => item == KeyCacheTokens.NoModel || Allows(outer, item)));

    private static GatewayError Beyond(string param, string reason) => GatewayError.Forbidden(
        $"A key may create, rotate or revoke only keys within its own scopes: {reason}.", param);
}
