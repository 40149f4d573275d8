using Orleans.Concurrency;

namespace Conversations.Tenancy;

/// <summary>A tenant and its API keys, keyed by tenant id. The source of truth for key status.</summary>
public interface ITenantGrain : IGrainWithStringKey
{
    Task<Result<TenantSettings>> Create(string name, TenantChange settings);

    [AlwaysInterleave]
    Task<Result<TenantSettings>> Get();

    Task<Result<TenantSettings>> Update(TenantChange change);

    Task<Result<IssuedApiKey>> CreateKey(NewApiKey key);

    [AlwaysInterleave]
    Task<Result<IReadOnlyList<ApiKeyInfo>>> ListKeys();

    /// <summary>Revokes a key; every API process drops it from its cache before this returns.</summary>
    /// <remarks>A caller may act only on keys whose role is not above its own (<paramref name="callerRole"/>).</remarks>
    Task<Result<ApiKeyInfo>> RevokeKey(string keyId, Role callerRole);

    /// <summary>Issues a new secret; the old one keeps working until <paramref name="gracePeriod"/> has passed.</summary>
    Task<Result<IssuedApiKey>> RotateKey(string keyId, TimeSpan gracePeriod, Role callerRole);

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
