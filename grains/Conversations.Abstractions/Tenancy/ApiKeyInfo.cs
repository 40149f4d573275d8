namespace Conversations.Tenancy;

/// <summary>An API key as its tenant sees it: never the secret, only a recognizable prefix.</summary>
[GenerateSerializer, Immutable, Alias("tenancy.ApiKeyInfo")]
public sealed record ApiKeyInfo(
    [property: Id(0)] string Id,
    [property: Id(1)] string Tenant,
    [property: Id(2)] string Name,
    [property: Id(3)] string Prefix,
    [property: Id(4)] Role Role,
    [property: Id(5)] IReadOnlyList<string> AllowedModels,
    [property: Id(6)] IReadOnlyList<string> AllowedEndpoints,
    [property: Id(7)] Limits Limits,
    [property: Id(8)] DateTimeOffset CreatedAt,
    [property: Id(9)] DateTimeOffset? ExpiresAt,
    [property: Id(10)] DateTimeOffset? RevokedAt,
    [property: Id(11)] DateTimeOffset? PreviousSecretValidUntil,
    [property: Id(20)] Guardrails.GuardrailPolicy? Guardrails = null,
    [property: Id(21)] IReadOnlyList<string>? AllowedIps = null,
    [property: Id(22)] IReadOnlyList<string>? AllowedMcpTools = null)
{
    public string Status(DateTimeOffset now) =>
        RevokedAt is not null ? "revoked" : ExpiresAt <= now ? "expired" : "active";
}

/// <summary>What a client asks for when it creates a key.</summary>
[GenerateSerializer, Immutable, Alias("tenancy.NewApiKey")]
public sealed record NewApiKey(
    [property: Id(0)] string Name,
    [property: Id(1)] Role Role,
    [property: Id(2)] IReadOnlyList<string> AllowedModels,
    [property: Id(3)] IReadOnlyList<string> AllowedEndpoints,
    [property: Id(4)] Limits Limits,
    [property: Id(5)] DateTimeOffset? ExpiresAt,
    [property: Id(20)] Guardrails.GuardrailPolicy? Guardrails = null,
    [property: Id(21)] IReadOnlyList<string>? AllowedIps = null,
    [property: Id(22)] IReadOnlyList<string>? AllowedMcpTools = null);

/// <summary>What may change on a key after its creation; a null field stays as it is, an empty one is removed.</summary>
[GenerateSerializer, Immutable, Alias("tenancy.KeyChange")]
public sealed record KeyChange(
    [property: Id(0)] Guardrails.GuardrailPolicy? Guardrails = null,
    [property: Id(1)] IReadOnlyList<string>? AllowedIps = null);

/// <summary>A key with its secret, returned once: at creation or rotation.</summary>
[GenerateSerializer, Immutable, Alias("tenancy.IssuedApiKey")]
public sealed record IssuedApiKey(
    [property: Id(0)] ApiKeyInfo Key,
    [property: Id(1)] string Secret);

/// <summary>Where a key hash points: only the tenant and key id, never more.</summary>
[GenerateSerializer, Immutable, Alias("tenancy.KeyLocation")]
public sealed record KeyLocation(
    [property: Id(0)] string Tenant,
    [property: Id(1)] string KeyId);

/// <summary>An authenticated key, with how long the API may cache the answer.</summary>
[GenerateSerializer, Immutable, Alias("tenancy.Authentication")]
public sealed record Authentication(
    [property: Id(0)] Caller Caller,
    [property: Id(1)] DateTimeOffset? ValidUntil);
