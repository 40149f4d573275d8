using Conversations.Guardrails;
using Conversations.Tenancy;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains.Tenancy;

/// <summary>
/// A tenant's settings and keys. Keys are stored as hashes only; the secret is returned once. The
/// hash index (<see cref="IApiKeyIndexGrain"/>) is written before the key, so a failure in between
/// leaves at most an index entry that points at nothing.
/// </summary>
public sealed class TenantGrain(
    [PersistentState("tenant", StorageNames.Conversations)] IPersistentState<TenantState> state,
    TimeProvider clock,
    ILogger<TenantGrain> logger) : Grain, ITenantGrain
{
    private string TenantId => this.GetPrimaryKeyString();

    private GatewayError NotFound => GatewayError.NotFound("tenant", TenantId);

    public async Task<Result<TenantSettings>> Create(string name, TenantChange settings)
    {
        if (state.State.Settings is not null)
        {
            return GatewayError.Conflict($"Tenant '{TenantId}' already exists.", "tenant_exists");
        }

        var created = Apply(new TenantSettings(TenantId, name, false, Limits.None, Limits.None, [], clock.GetUtcNow()), settings);
        return await Persist(state.State with { Settings = created }) ?? (Result<TenantSettings>)created;
    }

    public Task<Result<TenantSettings>> Get() =>
        Task.FromResult(state.State.Settings is { } settings ? settings : (Result<TenantSettings>)NotFound);

    public async Task<Result<TenantSettings>> Update(TenantChange change)
    {
        if (state.State.Settings is not { } settings)
        {
            return NotFound;
        }

        if (change.ByTenantAdmin && change.AllowedIps is { Count: > 0 } ips && IpAllowlist.Outside(ips, settings.PlatformAllowedIps) is { } outside)
        {
            return GatewayError.Forbidden(
                $"A tenant admin may narrow its tenant's allowed_ips within the platform's, {string.Join(", ", settings.PlatformAllowedIps!)}: {ips[outside]} is outside them.",
                $"allowed_ips[{outside}]");
        }

        var updated = Apply(settings, change);
        if (await Persist(state.State with { Settings = updated }) is { } failed)
        {
            return failed;
        }

        // Limits, models or status changed: every API process re-reads this tenant's keys.
        await Revocations.Publish([KeyCacheTokens.Tenant(TenantId)]);
        return updated;
    }

    public async Task<Result<IssuedApiKey>> CreateKey(NewApiKey key, Caller creator)
    {
        if (state.State.Settings is not { } tenant)
        {
            return NotFound;
        }

        var secret = KeySecrets.New();
        var info = new ApiKeyInfo(Ids.New("key"), TenantId, key.Name, KeySecrets.Visible(secret), key.Role,
            key.AllowedModels, key.AllowedEndpoints, key.Limits, clock.GetUtcNow(), key.ExpiresAt, null, null, Bounded(key.Guardrails, creator), Ranges(key.AllowedIps),
            key.AllowedMcpTools);
        if ((creator.Scope.Refuses(ScopeOf(tenant, info)) ?? RefusesRanges(info.AllowedIps, creator)) is { } wider)
        {
            return wider;
        }

        var hash = KeySecrets.Hash(secret);
        if (await GrainFactory.GetGrain<IApiKeyIndexGrain>(hash).Register(new KeyLocation(TenantId, info.Id)) is { } unindexed)
        {
            return unindexed;
        }

        var keys = new Dictionary<string, StoredKey>(state.State.Keys) { [info.Id] = new StoredKey(info, hash, null) };
        return await Persist(state.State with { Keys = keys }) ?? (Result<IssuedApiKey>)new IssuedApiKey(info, secret);
    }

    public Task<Result<IReadOnlyList<ApiKeyInfo>>> ListKeys() => Task.FromResult(state.State.Settings is null
        ? NotFound
        : (Result<IReadOnlyList<ApiKeyInfo>>)state.State.Keys.Values.Select(k => k.Info).OrderBy(k => k.CreatedAt).ToList());

    public async Task<Result<ApiKeyInfo>> RevokeKey(string keyId, Caller actor)
    {
        if (FindKey(keyId, actor) is not { IsSuccess: true } found)
        {
            return FindKey(keyId, actor).Error!;
        }

        var key = found.Value;
        var revoked = key with { Info = key.Info with { RevokedAt = key.Info.RevokedAt ?? clock.GetUtcNow() } };
        if (await Persist(state.State with { Keys = new(state.State.Keys) { [keyId] = revoked } }) is { } failed)
        {
            return failed;
        }

        await Revocations.Publish([.. new[] { key.SecretHash, key.PreviousSecretHash }.OfType<string>()]);
        return revoked.Info;
    }

    public async Task<Result<IssuedApiKey>> RotateKey(string keyId, TimeSpan gracePeriod, Caller actor)
    {
        if (FindKey(keyId, actor) is not { IsSuccess: true } found)
        {
            return FindKey(keyId, actor).Error!;
        }

        var key = found.Value;
        var now = clock.GetUtcNow();
        if (key.Info.Status(now) != "active")
        {
            return GatewayError.Conflict($"Key '{keyId}' is {key.Info.Status(now)} and cannot be rotated.", "key_inactive");
        }

        var secret = KeySecrets.New();
        var hash = KeySecrets.Hash(secret);
        if (await GrainFactory.GetGrain<IApiKeyIndexGrain>(hash).Register(new KeyLocation(TenantId, keyId)) is { } unindexed)
        {
            return unindexed;
        }

        var keepOld = gracePeriod > TimeSpan.Zero;
        var rotated = new StoredKey(
            key.Info with { Prefix = KeySecrets.Visible(secret), PreviousSecretValidUntil = keepOld ? now + gracePeriod : null },
            hash,
            keepOld ? key.SecretHash : null);
        if (await Persist(state.State with { Keys = new(state.State.Keys) { [keyId] = rotated } }) is { } failed)
        {
            return failed;
        }

        // Secrets older than the one just replaced stop working now; the replaced one at the end of the grace period.
        // Caches drop the replaced one too: an entry cached before the rotation would trust it for the cache's whole
        // duration, while one read now carries the grace period's end and stops authenticating at it without a push.
        await Revocations.Publish([.. new[] { key.SecretHash, key.PreviousSecretHash }.OfType<string>()]);
        return new IssuedApiKey(rotated.Info, secret);
    }

    public Task<Result<Authentication>> Authenticate(string keyId, string secretHash)
    {
        if (state.State.Settings is not { } tenant || !state.State.Keys.TryGetValue(keyId, out var key))
        {
            return Task.FromResult<Result<Authentication>>(KeyValidity.Invalid);
        }

        var validUntil = KeyValidity.Check(tenant, key, secretHash, clock.GetUtcNow());
        if (!validUntil.IsSuccess)
        {
            return Task.FromResult<Result<Authentication>>(validUntil.Error);
        }

        var caller = new Caller(tenant.Id, keyId, key.Info.Role, AllowedModels(tenant, key.Info), key.Info.AllowedEndpoints,
            key.Info.Limits, tenant.Limits, tenant.UserLimits, tenant.ContextPolicy, key.Info.ExpiresAt, tenant.StorageLimits, tenant.Cache,
            Guardrails(tenant, key.Info), tenant.AllowedIps, key.Info.AllowedIps, key.Info.AllowedMcpTools, tenant.AuditCallText);
        return Task.FromResult<Result<Authentication>>(new Authentication(caller, validUntil.Value));
    }

    public async Task<Result<ApiKeyInfo>> UpdateKey(string keyId, KeyChange change, Caller actor)
    {
        if (FindKey(keyId, actor) is not { IsSuccess: true } found)
        {
            return FindKey(keyId, actor).Error!;
        }

        var key = found.Value;
        var changed = key with
        {
            Info = key.Info with
            {
                Guardrails = change.Guardrails is { } guardrails ? Bounded(guardrails, actor) : key.Info.Guardrails,
                AllowedIps = change.AllowedIps is { } ips ? Ranges(ips) : key.Info.AllowedIps,
            },
        };
        if (change.AllowedIps is not null && RefusesRanges(changed.Info.AllowedIps, actor) is { } wider)
        {
            return wider;
        }
        if (await Persist(state.State with { Keys = new(state.State.Keys) { [keyId] = changed } }) is { } failed)
        {
            return failed;
        }

        // Cached callers carry the key's guardrails and allowlist: every API process reads the key again.
        await Revocations.Publish([.. new[] { key.SecretHash, key.PreviousSecretHash }.OfType<string>()]);
        return changed.Info;
    }

    public async Task<Result<ApiKeyInfo>> Grant(string keyId, string? model, string? endpoint, Caller approver)
    {
        if (FindKey(keyId, approver) is not { IsSuccess: true } found)
        {
            return FindKey(keyId, approver).Error!;
        }

        var key = found.Value;
        var widened = key.Info with { AllowedModels = Widened(key.Info.AllowedModels, model), AllowedEndpoints = Widened(key.Info.AllowedEndpoints, endpoint) };
        if (approver.Scope.Refuses(ScopeOf(state.State.Settings!, widened)) is { } wider)
        {
            return wider;
        }

        if (widened == key.Info)
        {
            return widened; // granted already (a retried approval)
        }

        if (await Persist(state.State with { Keys = new(state.State.Keys) { [keyId] = key with { Info = widened } } }) is { } failed)
        {
            return failed;
        }

        await Revocations.Publish([.. new[] { key.SecretHash, key.PreviousSecretHash }.OfType<string>()]); // the next call runs with the new scope
        return widened;
    }

    /// <summary>A scope list with <paramref name="item"/> added; the list itself when it allows it already (empty: all).</summary>
    private static IReadOnlyList<string> Widened(IReadOnlyList<string> scope, string? item) =>
        item is null || KeyScope.Allows(scope, item) ? scope : [.. scope, item];

    /// <summary>The policy a key's calls run under: the tenant's, made stricter by the key's (<see cref="GuardrailPolicy.NarrowedBy"/>).</summary>
    private static GuardrailPolicy? Guardrails(TenantSettings tenant, ApiKeyInfo key) =>
        tenant.Guardrails is { } policy ? Empty(policy.NarrowedBy(key.Guardrails)) : key.Guardrails;

    /// <summary>
    /// A key's own guardrails as set by <paramref name="actor"/>: at least as strict as the actor's key's own (its tenant's
    /// apply to both anyway), so a key never runs under looser guardrails than the key that made or changed it.
    /// </summary>
    private GuardrailPolicy? Bounded(GuardrailPolicy? requested, Caller actor) =>
        actor.Tenant == TenantId && state.State.Keys.TryGetValue(actor.KeyId, out var own) && own.Info.Guardrails is { } theirs
            ? Empty(theirs.NarrowedBy(requested))
            : Empty(requested);

    /// <summary>A 403 when a key's ranges reach beyond those of the key creating or changing it (none: every address, beyond any range).</summary>
    private static GatewayError? RefusesRanges(IReadOnlyList<string>? ranges, Caller actor) =>
        IpAllowlist.Outside(ranges, actor.KeyAllowedIps) is not { } outside ? null : GatewayError.Forbidden(
            $"A key may not reach beyond the key that creates or changes it: its allowed_ips must be set and within {string.Join(", ", actor.KeyAllowedIps!)}.",
            outside < 0 ? "allowed_ips" : $"allowed_ips[{outside}]");

    /// <summary>An empty allowlist is none at all: every address.</summary>
    private static IReadOnlyList<string>? Ranges(IReadOnlyList<string>? ranges) => ranges is { Count: > 0 } ? ranges : null;

    /// <summary>An empty policy is none at all, so a call with it skips the guardrail stages.</summary>
    private static GuardrailPolicy? Empty(GuardrailPolicy? policy) => policy is { IsEmpty: false } ? policy : null;

    /// <summary>A key the caller may manage: only one within the caller's own scope (its new secret would otherwise widen the caller).</summary>
    private Result<StoredKey> FindKey(string keyId, Caller actor) =>
        state.State.Settings is not { } tenant || !state.State.Keys.TryGetValue(keyId, out var key) ? GatewayError.NotFound("key", keyId)
        : actor.Scope.Refuses(ScopeOf(tenant, key.Info)) is { } wider ? wider
        : key;

    /// <summary>What a key can do in this tenant now: its models are those the tenant also allows.</summary>
    private static KeyScope ScopeOf(TenantSettings tenant, ApiKeyInfo key) =>
        new(key.Role, AllowedModels(tenant, key), key.AllowedEndpoints, key.Limits, key.ExpiresAt, key.AllowedMcpTools);

    private IKeyRevocationHubGrain Revocations => GrainFactory.GetGrain<IKeyRevocationHubGrain>(0);

    /// <summary>A key may narrow its tenant's models, never widen them.</summary>
    private static IReadOnlyList<string> AllowedModels(TenantSettings tenant, ApiKeyInfo key)
    {
        if (tenant.AllowedModels.Count == 0 || key.AllowedModels.Count == 0)
        {
            return tenant.AllowedModels.Count == 0 ? key.AllowedModels : tenant.AllowedModels;
        }

        var both = key.AllowedModels.Intersect(tenant.AllowedModels, StringComparer.Ordinal).ToList();
        return both.Count > 0 ? both : [KeyCacheTokens.NoModel];
    }

    private static TenantSettings Apply(TenantSettings settings, TenantChange change) => settings with
    {
        Name = change.Name ?? settings.Name,
        Disabled = change.Disabled ?? settings.Disabled,
        Limits = change.Limits ?? settings.Limits,
        UserLimits = change.UserLimits ?? settings.UserLimits,
        AllowedModels = change.AllowedModels ?? settings.AllowedModels,
        ContextPolicy = change.ContextPolicy is { } policy ? policy.Policy : settings.ContextPolicy,
        StorageLimits = change.StorageLimits ?? settings.StorageLimits,
        Cache = change.Cache ?? settings.Cache,
        // A tenant admin's guardrails start from the platform's, and its ranges stay within them (Update checks); removing either
        // returns to the platform's. A platform admin's set both the policy and the bound.
        Guardrails = change.Guardrails is { } guardrails
            ? Empty(change.ByTenantAdmin && settings.PlatformGuardrails is { } floor ? floor.NarrowedBy(guardrails) : guardrails)
            : settings.Guardrails,
        PlatformGuardrails = !change.ByTenantAdmin && change.Guardrails is { } platform ? Empty(platform) : settings.PlatformGuardrails,
        AllowedIps = change.AllowedIps is { } ips ? (change.ByTenantAdmin ? Ranges(ips) ?? settings.PlatformAllowedIps : Ranges(ips)) : settings.AllowedIps,
        PlatformAllowedIps = !change.ByTenantAdmin && change.AllowedIps is { } bound ? Ranges(bound) : settings.PlatformAllowedIps,
        AuditRetentionDays = change.AuditRetentionDays ?? settings.AuditRetentionDays,
        AuditCallText = change.AuditCallText ?? settings.AuditCallText,
    };

    private Task<GatewayError?> Persist(TenantState next) => state.TryReplace(next, this, logger);
}

[GenerateSerializer, Alias("tenancy.TenantState")]
public sealed record TenantState
{
    [Id(0)] public TenantSettings? Settings { get; init; }

    [Id(1)] public Dictionary<string, StoredKey> Keys { get; init; } = new(StringComparer.Ordinal);
}

[GenerateSerializer, Immutable, Alias("tenancy.StoredKey")]
public sealed record StoredKey(
    [property: Id(0)] ApiKeyInfo Info,
    [property: Id(1)] string SecretHash,
    [property: Id(2)] string? PreviousSecretHash);
