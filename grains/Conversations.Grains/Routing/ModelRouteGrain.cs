using Conversations.Providers;
using Conversations.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;

namespace Conversations.Grains.Routing;

/// <summary>
/// A tenant's model alias: versioned configuration and live deployment health; see <see cref="IModelRouteGrain"/>.
/// While steady it publishes itself in its own silo and lends itself to the silos that ask (<see cref="SteadyRoutes"/>).
/// </summary>
public sealed partial class ModelRouteGrain(
    [PersistentState("route", StorageNames.Conversations)] IPersistentState<RouteState> state,
    IOptions<RoutingOptions> options,
    TimeProvider time,
    SteadyRoutes steady,
    ILogger<ModelRouteGrain> logger) : Grain, IModelRouteGrain, IRouteLeases
{
    private const int KeptVersions = 50;

    private readonly Dictionary<string, DeploymentHealthState> _health = new(StringComparer.Ordinal);
    private RouteConfig? _healthFor;
    private (RouteConfig Route, int Version)? _published;
    private SteadyRoute? _lendable;

    /// <summary>The silos this route is lent to, and when each lease ends as this grain counts it (no earlier than the silo does).</summary>
    private readonly Dictionary<GrainId, (IRouteLeaseHolder Holder, DateTimeOffset Until)> _lent = [];
    private string? _key;

    private string Key => _key ??= this.GetPrimaryKeyString();

    private string Tenant => GrainKeys.Parse(Key).Tenant;

    private string Alias => GrainKeys.Parse(Key).Id;

    private RouteConfig? PlatformDefault => options.Value.Routes.GetValueOrDefault(Alias);

    /// <summary>The tenant's latest version, unless it returned to (or never left) the platform default.</summary>
    private RouteConfig? Current => state.State.Versions is [.., { Config: { } own }] ? own : PlatformDefault;

    private int Version => state.State.Versions is [.., var last] ? last.Version : 0;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        Publish().Ignore();
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        steady.Publish(Key, null);
        RevokeLeases().Ignore(); // not awaited: a silo that misses it plans on its lease until the lease ends
        return Task.CompletedTask;
    }

    public async Task<LeasedPlan> PlanAndLease(PlanRequest request, IRouteLeaseHolder holder)
    {
        var plan = await Plan(request);
        if (_lendable is not null)
        {
            _lent[holder.GetGrainId()] = (holder, time.GetUtcNow() + SteadyRoutes.LeasePeriod);
        }

        return new LeasedPlan(plan, _lendable, SteadyRoutes.LeasePeriod);
    }

    public Task<Result<RoutePlan>> Plan(PlanRequest request)
    {
        if (Current is not { } route)
        {
            DeactivateOnIdle(); // a name no route has: do not keep an activation per invented name
            return Task.FromResult<Result<RoutePlan>>(GatewayError.ModelNotFound(Alias));
        }

        var now = time.GetUtcNow();
        var fits = RouteSelector.Fitting(route, request);
        if (fits.Count == 0)
        {
            return Task.FromResult<Result<RoutePlan>>(RouteSelector.NothingFits(Alias, request));
        }

        var available = fits.Where(d => Health(route, d).Check(now) != Availability.Blocked).ToList();
        if (available.Count == 0)
        {
            var retryAfter = fits.Min(d => Health(route, d).BlockedUntil(now) ?? now) - now;
            return Task.FromResult<Result<RoutePlan>>(new GatewayError(
                503, "server_error", "deployments_unavailable",
                $"Every deployment of '{Alias}' is failing or cooling down; retry the request later.", RetryAfter: retryAfter > TimeSpan.Zero ? retryAfter : TimeSpan.FromSeconds(1)));
        }

        var ordered = RouteSelector.Order(Alias, route, available, request, d => LatencyOf(route, d, request.Streaming), Random.Shared.NextDouble());

        // A deployment on trial is tried only as the first choice, so the one trial call is really made.
        if (Health(route, ordered[0]).Check(now) == Availability.Trial)
        {
            Health(route, ordered[0]).GrantTrial(now);
        }

        List<RouteDeployment> plan = [ordered[0], .. ordered.Skip(1).Where(d => Health(route, d).Check(now) == Availability.Callable)];
        Publish().Ignore(); // a cool-down may have ended since the route last stopped being steady: nothing lent to revoke
        return Task.FromResult<Result<RoutePlan>>(new RoutePlan(Alias, Version, plan, route));
    }

    public Task Report(AttemptReport report)
    {
        if (Current is { } route && route.Find(report.Deployment) is { } deployment)
        {
            Health(route, deployment).Record(report);
            Publish().Ignore(); // an opened circuit's revocations are not awaited by the report: see decision 0089
        }

        return Task.CompletedTask;
    }

    public Task ReportSuccess(AttemptReport report) => Report(report);

    public Task<Result<RouteView>> Describe() => Task.FromResult(View());

    public Task<Result<RouteView>> Change(RouteConfig? config, string changedBy) =>
        AppendVersion(config, changedBy, config is null ? "returned to the platform default" : "changed");

    public Task<Result<RouteView>> Rollback(int version, string changedBy)
    {
        if (version == 0)
        {
            return AppendVersion(null, changedBy, "rolled back to version 0 (the platform default)");
        }

        return state.State.Versions.FirstOrDefault(v => v.Version == version) is { } earlier
            ? AppendVersion(earlier.Config, changedBy, $"rolled back to version {version}")
            : Task.FromResult<Result<RouteView>>(GatewayError.NotFound("route version", version.ToString(System.Globalization.CultureInfo.InvariantCulture), "version"));
    }

    private async Task<Result<RouteView>> AppendVersion(RouteConfig? config, string changedBy, string change)
    {
        if (config is null && PlatformDefault is null && state.State.Versions.Count == 0)
        {
            return GatewayError.ModelNotFound(Alias);
        }

        var tenant = Tenant == PlatformRoutes.Tenant ? null : Tenant;
        if (config is not null && RouteRules.Validate(config, options.Value.Credentials, tenant) is { } invalid)
        {
            return invalid;
        }

        if (config is not null && tenant is not null)
        {
            config = RouteRules.PricedForTenant(config, options.Value.Credentials);
        }

        // The tenant's route list is written first when the alias gains a route and last when it loses one, so an alias
        // that has a route is always listed: calls check the list before they activate a route grain (RoutePlanner).
        var own = config is null ? null : TenantRoutesGrain.Listing(Alias, config);
        if (own is not null && await Routes.Register(Alias, own) is { } unlisted)
        {
            return unlisted;
        }

        var version = new RouteVersion(Version + 1, config, time.GetUtcNow(), changedBy, change);
        var next = new RouteState { Versions = [.. state.State.Versions.TakeLast(KeptVersions - 1), version] };
        if (await state.TryReplace(next, this, logger) is { } failed)
        {
            return failed;
        }

        await Publish(); // before the change is acknowledged: every silo's next call plans with the new version
        if (own is null)
        {
            await Unlist(); // if this fails the alias stays listed, and calls to it find no route: a 404 all the same
        }

        return Current is null ? new RouteView(Alias, false, Version, null, [], state.State.Versions) : View();
    }

    private Result<RouteView> View()
    {
        if (Current is not { } route)
        {
            return GatewayError.ModelNotFound(Alias);
        }

        var health = route.Deployments.Select(d =>
        {
            var h = Health(route, d);
            return new DeploymentHealth(d.Name, CircuitName(h.Circuit), h.LatencyMs, h.FirstTokenMs, h.Successes, h.Failures, h.CoolingUntil);
        }).ToList();
        return new RouteView(Alias, state.State.Versions is [.., { Config: not null }], Version, route, health, state.State.Versions);
    }

    private ITenantRoutesGrain Routes => GrainFactory.GetGrain<ITenantRoutesGrain>(Tenant);

    private async Task Unlist()
    {
        try
        {
            _ = await Routes.Register(Alias, null); // a storage failure the route list logged itself
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogUnlistFailed(exception, Alias);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Route {Alias}: removing it from the tenant's route list failed")]
    private partial void LogUnlistFailed(Exception exception, string alias);

    /// <summary>Health is per deployment of the current version; a new version starts with fresh circuits.</summary>
    private DeploymentHealthState Health(RouteConfig route, RouteDeployment deployment)
    {
        if (!ReferenceEquals(_healthFor, route))
        {
            _health.Clear();
            _healthFor = route;
        }

        if (!_health.TryGetValue(deployment.Name, out var health))
        {
            health = new DeploymentHealthState(route.Circuit, route.Timeouts.FirstToken, time, deployment.Name);
            _health[deployment.Name] = health;
        }

        return health;
    }

    /// <summary>
    /// Lets this silo's calls plan without a grain call while every deployment is callable (<see cref="SteadyRoutes"/>);
    /// withdraws otherwise. Latency averages matter to the order only under least-latency routing, so only then does
    /// each report republish them; lent copies keep theirs until their lease ends. A withdrawal or a new version revokes
    /// every lease: the task ends when each silo has confirmed, or when the last lease would have ended anyway.
    /// </summary>
    private Task Publish()
    {
        var now = time.GetUtcNow();
        if (Current is not { } route || !AllCallable(route, now))
        {
            steady.Publish(Key, null);
            (_published, _lendable) = (null, null);
            return RevokeLeases();
        }

        if (route.Strategy != RouteStrategy.LeastLatency && steady.Holds(Key) && _published == (route, Version))
        {
            return Task.CompletedTask;
        }

        var changed = _published != (route, Version);
        _published = (route, Version);
        _lendable = new SteadyRoute(
            Alias, Version, route,
            route.Deployments.ToDictionary(d => d.Name, d => LatencyOf(route, d, streaming: false)),
            route.Deployments.ToDictionary(d => d.Name, d => LatencyOf(route, d, streaming: true)));
        steady.Publish(Key, _lendable);
        return changed ? RevokeLeases() : Task.CompletedTask;
    }

    private Task RevokeLeases()
    {
        var now = time.GetUtcNow();
        var held = _lent.Values.Where(lease => lease.Until > now).ToList();
        _lent.Clear();
        if (held.Count == 0)
        {
            return Task.CompletedTask;
        }

        var confirmed = Task.WhenAll(held.Select(lease => Revoke(lease.Holder)));
        return Task.WhenAny(confirmed, Task.Delay(held.Max(lease => lease.Until) - now, time));
    }

    private async Task Revoke(IRouteLeaseHolder holder)
    {
        try
        {
            await holder.Revoke(Key);
        }
        catch (Exception exception)
        {
            LogRevokeFailed(exception, Alias); // that silo's lease ends by itself within the lease period
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Route {Alias}: a silo did not confirm the end of its lease; it ends within the lease period")]
    private partial void LogRevokeFailed(Exception exception, string alias);

    private bool AllCallable(RouteConfig route, DateTimeOffset now)
    {
        foreach (var deployment in route.Deployments)
        {
            if (Health(route, deployment).Check(now) != Availability.Callable)
            {
                return false;
            }
        }

        return true;
    }

    private double? LatencyOf(RouteConfig route, RouteDeployment deployment, bool streaming)
    {
        var health = Health(route, deployment);
        return streaming ? health.FirstTokenMs ?? health.LatencyMs : health.LatencyMs;
    }

    private static string CircuitName(CircuitState circuit) => circuit switch
    {
        CircuitState.Closed => "closed",
        CircuitState.Open => "open",
        CircuitState.HalfOpen => "half_open",
        _ => "isolated",
    };
}

[GenerateSerializer, Alias("conv.RouteState")]
public sealed record RouteState
{
    [Id(0)] public IReadOnlyList<RouteVersion> Versions { get; init; } = [];
}
