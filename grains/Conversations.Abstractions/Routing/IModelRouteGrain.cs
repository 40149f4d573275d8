using Orleans.Concurrency;

namespace Conversations.Routing;

/// <summary>
/// One model alias for one tenant (<c>{tenant}/{alias}</c>): its versioned configuration (a tenant
/// override, or the platform default) and the live health of its deployments — Polly circuit state,
/// latency averages, retry-after cool-downs — which every silo shares because there is one activation.
/// </summary>
public interface IModelRouteGrain : IGrainWithStringKey
{
    /// <summary>The deployments to try for one call, in order: the strategy's pick first, then the fallbacks.</summary>
    Task<Result<RoutePlan>> Plan(PlanRequest request);

    /// <summary>
    /// A failed attempt; feeds the circuit breakers. Awaited, so once a call has seen a failure the
    /// route counts it before the call falls back or answers: the circuit is exact, not eventually so.
    /// </summary>
    Task Report(AttemptReport report);

    /// <summary>A successful attempt; feeds the latency averages and closes circuits. One-way: never on a call's critical path.</summary>
    [OneWay]
    Task ReportSuccess(AttemptReport report);

    Task<Result<RouteView>> Describe();

    /// <summary>Makes <paramref name="config"/> the new current version; <c>null</c> returns to the platform default.</summary>
    Task<Result<RouteView>> Change(RouteConfig? config, string changedBy);

    /// <summary>Makes a new version whose configuration is that of <paramref name="version"/>.</summary>
    Task<Result<RouteView>> Rollback(int version, string changedBy);
}

public static class PlatformRoutes
{
    /// <summary>The tenant key whose routes are exactly the platform defaults: calls made without a caller use it.</summary>
    public const string Tenant = "_platform";
}

/// <summary>The aliases a tenant can call: the platform's routes and its own.</summary>
public interface ITenantRoutesGrain : IGrainWithStringKey
{
    [AlwaysInterleave]
    Task<IReadOnlyList<ModelDescription>> ListModels();

    /// <summary>Whether the tenant has a route of its own named <paramref name="alias"/> (platform routes are not asked about).</summary>
    [AlwaysInterleave]
    Task<bool> Owns(string alias);

    /// <summary>Records that the tenant has its own route for <paramref name="alias"/> (or, with <c>null</c>, no longer has).</summary>
    Task<GatewayError?> Register(string alias, ModelDescription? model);
}

[GenerateSerializer, Immutable, Alias("conv.ModelDescription")]
public sealed record ModelDescription(
    [property: Id(0)] string Id,
    [property: Id(1)] string OwnedBy,
    [property: Id(2)] int ContextWindow);

[GenerateSerializer, Immutable, Alias("conv.PlanRequest")]
public sealed record PlanRequest(
    [property: Id(0)] string? StickyKey,
    [property: Id(1)] int PromptTokens,
    [property: Id(2)] int? MaxOutputTokens,
    [property: Id(3)] bool Streaming);

[GenerateSerializer, Immutable, Alias("conv.RoutePlan")]
public sealed record RoutePlan(
    [property: Id(0)] string Alias,
    [property: Id(1)] int Version,
    [property: Id(2)] IReadOnlyList<RouteDeployment> Deployments,
    [property: Id(3)] RouteConfig Config);

public enum AttemptOutcome
{
    Succeeded,

    /// <summary>A server error, timeout, connection failure or cut stream: counts against the circuit.</summary>
    Failed,

    /// <summary>The upstream said 429: the deployment cools down for its retry-after, the circuit is not charged.</summary>
    Throttled,

    /// <summary>The request itself was refused (a 4xx other than 429): says nothing about the deployment's health.</summary>
    Rejected,
}

[GenerateSerializer, Immutable, Alias("conv.AttemptReport")]
public sealed record AttemptReport(
    [property: Id(0)] string Deployment,
    [property: Id(1)] AttemptOutcome Outcome,
    [property: Id(2)] TimeSpan? Latency = null,
    [property: Id(3)] TimeSpan? FirstToken = null,
    [property: Id(4)] TimeSpan? RetryAfter = null);

/// <summary>
/// Which deployment served a call, after how many attempts, under which route version; and the time
/// spent in HTTP exchanges with upstreams up to the answer (a stream: up to its headers), null when there were none.
/// </summary>
[GenerateSerializer, Immutable, Alias("conv.ServedBy")]
public sealed record ServedBy(
    [property: Id(0)] string Deployment,
    [property: Id(1)] int Attempts,
    [property: Id(2)] int RouteVersion,
    [property: Id(3)] TimeSpan? Upstream = null);

/// <summary>A route's current version and health; <see cref="Config"/> is null once a tenant-only alias was deleted.</summary>
[GenerateSerializer, Immutable, Alias("conv.RouteView")]
public sealed record RouteView(
    [property: Id(0)] string Alias,
    [property: Id(1)] bool IsOverride,
    [property: Id(2)] int Version,
    [property: Id(3)] RouteConfig? Config,
    [property: Id(4)] IReadOnlyList<DeploymentHealth> Health,
    [property: Id(5)] IReadOnlyList<RouteVersion> Versions);

[GenerateSerializer, Immutable, Alias("conv.RouteVersion")]
public sealed record RouteVersion(
    [property: Id(0)] int Version,
    [property: Id(1)] RouteConfig? Config,
    [property: Id(2)] DateTimeOffset CreatedAt,
    [property: Id(3)] string CreatedBy,
    [property: Id(4)] string Change);

[GenerateSerializer, Immutable, Alias("conv.DeploymentHealth")]
public sealed record DeploymentHealth(
    [property: Id(0)] string Deployment,
    [property: Id(1)] string Circuit,
    [property: Id(2)] double? LatencyMs,
    [property: Id(3)] double? FirstTokenMs,
    [property: Id(4)] long Successes,
    [property: Id(5)] long Failures,
    [property: Id(6)] DateTimeOffset? CoolingUntil);
