using Conversations.Caching;

namespace Conversations.Api;

/// <summary>
/// The response cache's policy on a route or a tenant (<c>cache</c>): <c>mode</c> off, exact or semantic; <c>ttl_seconds</c>;
/// <c>similarity</c>, the cosine a semantic hit needs; <c>scope</c>, tenant or user. Unset fields take the defaults.
/// </summary>
public sealed record CachePolicyJson(string? Mode = null, int? TtlSeconds = null, double? Similarity = null, string? Scope = null)
{
    private static readonly (CacheMode Value, string Name)[] Modes = [(CacheMode.Off, "off"), (CacheMode.Exact, "exact"), (CacheMode.Semantic, "semantic")];
    private static readonly (CacheScope Value, string Name)[] Scopes = [(CacheScope.Tenant, "tenant"), (CacheScope.User, "user")];

    public Result<CachePolicy> ToPolicy(string param)
    {
        if (Mode is null || !Modes.Any(m => m.Name == Mode))
        {
            return GatewayError.Invalid($"Invalid '{param}.mode': expected one of {string.Join(", ", Modes.Select(m => m.Name))}.", $"{param}.mode", "invalid_value");
        }

        if (TtlSeconds is < 1 or > CachePolicy.MaxTtlSeconds)
        {
            return GatewayError.Invalid($"Invalid '{param}.ttl_seconds': expected 1 to {CachePolicy.MaxTtlSeconds}.", $"{param}.ttl_seconds", "invalid_value");
        }

        if (Similarity is { } similarity && !(similarity > 0 && similarity <= 1))
        {
            return GatewayError.Invalid($"Invalid '{param}.similarity': expected a cosine above 0 and at most 1.", $"{param}.similarity", "invalid_value");
        }

        if (Scope is not null && !Scopes.Any(s => s.Name == Scope))
        {
            return GatewayError.Invalid($"Invalid '{param}.scope': expected 'tenant' or 'user'.", $"{param}.scope", "invalid_value");
        }

        return new CachePolicy
        {
            Mode = Modes.First(m => m.Name == Mode).Value,
            TtlSeconds = TtlSeconds,
            Similarity = Similarity,
            Scope = Scope is null ? CacheScope.Tenant : Scopes.First(s => s.Name == Scope).Value,
        };
    }

    /// <summary>The policy as JSON, or null when none is set.</summary>
    public static CachePolicyJson? From(CachePolicy? policy) => policy is null ? null : new(
        Modes.First(m => m.Value == policy.Mode).Name, policy.TtlSeconds ?? CachePolicy.DefaultTtlSeconds,
        policy.Mode == CacheMode.Semantic ? policy.MinSimilarity : policy.Similarity, Scopes.First(s => s.Value == policy.Scope).Name);

    /// <summary>Reads an optional policy: null when absent, else the policy or the field that is wrong.</summary>
    public static Result<CachePolicy?> Read(CachePolicyJson? json, string param)
    {
        if (json is null)
        {
            return (CachePolicy?)null;
        }

        var policy = json.ToPolicy(param);
        return policy.IsSuccess ? policy.Value : policy.Error;
    }
}

/// <summary><c>POST /v1/admin/tenants/{id}/cache/purge</c>: by <c>alias</c>, by <c>key</c> (the hash in <c>x-conversations-cache-key</c>), or, with neither, all.</summary>
public sealed record CachePurgeJson(string? Alias = null, string? Key = null);

public sealed record CachePurgedJson(string Tenant, string? Alias, string? Key, int Purged)
{
    public string Object => "cache.purge";
}
