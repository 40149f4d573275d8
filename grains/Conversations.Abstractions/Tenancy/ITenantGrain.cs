using Orleans.Concurrency;

namespace Conversations.Tenancy;

/// <summary>A tenant and its API keys, keyed by tenant id. The source of truth for key status.</summary>
public interface ITenantGrain : IGrainWithStringKey
{
    Task<Result<TenantSettings>> Create(string name, TenantChange settings);

    [AlwaysInterleave]
    Task<Result<TenantSettings>> Get();

    Task<Result<TenantSettings>> Update(TenantChange change);

    /// <summary>Creates a key within <paramref name="creator"/>'s scope (<see cref="KeyScope.Refuses"/>), or refuses it with a 403.</summary>
    Task<Result<IssuedApiKey>> CreateKey(NewApiKey key, Caller creator);

    [AlwaysInterleave]
    Task<Result<IReadOnlyList<ApiKeyInfo>>> ListKeys();

    /// <summary>Revokes a key; every API process drops it from its cache before this returns.</summary>
    /// <remarks><paramref name="actor"/> may act only on keys within its own scope (<see cref="KeyScope.Refuses"/>).</remarks>
    Task<Result<ApiKeyInfo>> RevokeKey(string keyId, Caller actor);

    /// <summary>Issues a new secret; the old one keeps working until <paramref name="gracePeriod"/> has passed.</summary>
    /// <remarks><paramref name="actor"/> may act only on keys within its own scope (<see cref="KeyScope.Refuses"/>).</remarks>
    Task<Result<IssuedApiKey>> RotateKey(string keyId, TimeSpan gracePeriod, Caller actor);

    /// <summary>Changes a key's guardrail policy or address allowlist (<see cref="KeyChange"/>); API processes re-read the key at once.</summary>
    /// <remarks><paramref name="actor"/> may act only on keys within its own scope (<see cref="KeyScope.Refuses"/>).</remarks>
    Task<Result<ApiKeyInfo>> UpdateKey(string keyId, KeyChange change, Caller actor);

    /// <summary>
    /// Adds <paramref name="model"/> or <paramref name="endpoint"/> to a key's scope (an approved access request); nothing
    /// changes when the key has it already. Refused (403) when the widened key would reach beyond <paramref name="approver"/>'s scope.
    /// </summary>
    Task<Result<ApiKeyInfo>> Grant(string keyId, string? model, string? endpoint, Caller approver);

    /// <summary>Checks a presented secret's hash against the key's current (or, during a grace period, previous) secret.</summary>
    [AlwaysInterleave]
    Task<Result<Authentication>> Authenticate(string keyId, string secretHash);
}

/// <summary>Maps the hash of a key's secret to the key, so a presented key can be found. Written once.</summary>
public interface IApiKeyIndexGrain : IGrainWithStringKey
{
    Task<GatewayError?> Register(KeyLocation location);

    [AlwaysInterleave]
    Task<KeyLocation?> Find();
}

/// <summary>Tells every API process to forget cached keys, so revocation takes effect cluster-wide at once.</summary>
public interface IKeyRevocationHubGrain : IGrainWithIntegerKey
{
    Task Subscribe(IKeyRevocationObserver observer);

    Task Publish(IReadOnlyList<string> secretHashes);
}

public interface IKeyRevocationObserver : IGrainObserver
{
    Task Revoked(IReadOnlyList<string> secretHashes);
}
