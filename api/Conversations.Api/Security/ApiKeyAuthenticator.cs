using System.Collections.Concurrent;
using Conversations.Tenancy;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Conversations.Api.Security;

/// <summary>
/// Turns a presented key into a <see cref="Caller"/>. Bootstrap keys come from configuration; managed
/// keys are found through the hash index and checked by their tenant grain. Answers are cached by
/// secret hash for <see cref="ApiKeyOptions.CacheDuration"/> (never past a key's expiry or grace
/// period), and <see cref="Revoke"/> drops entries as soon as a revocation notice arrives.
/// </summary>
public sealed partial class ApiKeyAuthenticator : IKeyRevocationObserver
{
    private readonly IGrainFactory _grains;
    private readonly TimeProvider _clock;
    private readonly TimeSpan _cacheDuration;
    private readonly Dictionary<string, ApiKeyEntry> _bootstrap = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CachedCaller> _cache = new(StringComparer.Ordinal);

    /// <summary>Bumped by every revocation notice: a lookup that started before one must not be cached.</summary>
    private long _revocations;

    public ApiKeyAuthenticator(IOptions<ApiKeyOptions> options, IGrainFactory grains, TimeProvider clock, ILogger<ApiKeyAuthenticator> logger)
    {
        _grains = grains;
        _clock = clock;
        _cacheDuration = options.Value.CacheDuration;
        var keys = options.Value.Keys.Where(k => !string.IsNullOrWhiteSpace(k.Key)).ToList();
        if (Environment.GetEnvironmentVariable(ApiKeyOptions.EnvironmentVariable) is { Length: > 0 } fromEnvironment)
        {
            keys.Add(new ApiKeyEntry { Key = fromEnvironment });
        }

        if (keys.Count == 0)
        {
            var generated = KeySecrets.New();
            keys.Add(new ApiKeyEntry { Key = generated });
            LogGeneratedKey(logger, ApiKeyOptions.EnvironmentVariable, generated);
        }

        foreach (var key in keys)
        {
            _bootstrap[KeySecrets.Hash(key.Key)] = key;
        }
    }

    public ValueTask<Result<Caller>> AuthenticateAsync(string presentedKey) => AuthenticateHashAsync(KeySecrets.Hash(presentedKey));

    /// <summary>
    /// Authenticates a key by the hash of its secret: the portal's session keeps only the hash, so a revoked or rotated-out key
    /// ends its portal sessions on their next request, as it ends its API calls.
    /// </summary>
    public async ValueTask<Result<Caller>> AuthenticateHashAsync(string hash)
    {
        var now = _clock.GetUtcNow();
        if (_cache.TryGetValue(hash, out var cached) && cached.ValidUntil > now)
        {
            return cached.Caller;
        }

        var generation = Interlocked.Read(ref _revocations);
        var found = _bootstrap.TryGetValue(hash, out var bootstrap)
            ? await Bootstrap(bootstrap, hash)
            : await Managed(hash);
        if (!found.IsSuccess)
        {
            _cache.TryRemove(hash, out _);
            return found.Error;
        }

        var validUntil = now + _cacheDuration;
        _cache[hash] = new CachedCaller(found.Value.Caller, found.Value.ValidUntil < validUntil ? found.Value.ValidUntil.Value : validUntil);
        if (Interlocked.Read(ref _revocations) != generation)
        {
            _cache.TryRemove(hash, out _); // a revocation arrived while this lookup ran; the next request looks again
        }

        return found.Value.Caller;
    }

    /// <summary>Drops cached answers for revoked secrets, or for every key of a tenant whose settings changed.</summary>
    public Task Revoked(IReadOnlyList<string> secretHashes)
    {
        Interlocked.Increment(ref _revocations);
        foreach (var token in secretHashes)
        {
            if (KeyCacheTokens.TenantOf(token) is { } tenant)
            {
                foreach (var entry in _cache.Where(e => e.Value.Caller.Tenant == tenant))
                {
                    _cache.TryRemove(entry.Key, out _);
                }
            }
            else
            {
                _cache.TryRemove(token, out _);
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// A bootstrap key carries its tenant's settings when that tenant exists (limits, guardrails, whether audit records keep call
    /// text), and none otherwise (but the default storage caps). Not the tenant's IP allowlist: an operator's key from configuration
    /// is the way back in when an allowlist shuts everyone else out.
    /// </summary>
    private async Task<Result<Authentication>> Bootstrap(ApiKeyEntry key, string hash)
    {
        var tenant = await _grains.GetGrain<ITenantGrain>(key.Tenant).Get();
        if (tenant.Value?.Disabled == true)
        {
            return new GatewayError(401, "invalid_request_error", "tenant_disabled", "This API key's tenant is disabled.");
        }

        var settings = tenant.Value;
        return new Authentication(
            new Caller(key.Tenant, "bootstrap-" + hash[..8].ToLowerInvariant(), key.Role, settings?.AllowedModels ?? [], [],
                Limits.None, settings?.Limits ?? Limits.None, settings?.UserLimits ?? Limits.None, settings?.ContextPolicy, TenantStorageLimits: settings?.StorageLimits, TenantCache: settings?.Cache,
                Guardrails: settings?.Guardrails, AuditCallText: settings?.AuditCallText ?? false),
            null);
    }

    private async Task<Result<Authentication>> Managed(string hash)
    {
        var location = await _grains.GetGrain<IApiKeyIndexGrain>(hash).Find();
        return location is null
            ? new GatewayError(401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided.")
            : await _grains.GetGrain<ITenantGrain>(location.Tenant).Authenticate(location.KeyId, hash);
    }

    private sealed record CachedCaller(Caller Caller, DateTimeOffset ValidUntil);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No API key configured ({Variable} is unset). Generated one for this run: {Key}")]
    private static partial void LogGeneratedKey(ILogger logger, string variable, string key);
}
