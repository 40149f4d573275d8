using System.Collections.Concurrent;
using Conversations.Routing;

namespace Conversations.Grains.Routing;

/// <summary>
/// The steady routes this silo plans without a grain call (every deployment callable: closed circuit, no cool-down,
/// so no trial to hand out). A route grain active here publishes itself at the end of each turn that leaves it steady
/// and withdraws in the turn that ends it (decision 0022). A route grain active elsewhere lends its steady route to
/// this silo with a plan it was asked for, for a lease period measured from before the asking; it revokes the lease
/// when the route stops being steady or changes (decision 0089). While a failed attempt's report from this silo is on
/// its way to the grain, calls here ask the grain, so they queue behind the report; the report also ends this silo's
/// lease at once. A hop to an idle grain costs more than anything else in the call (bench/README.md).
/// </summary>
public sealed class SteadyRoutes(TimeProvider time) : IRouteLeaseHolder
{
    /// <summary>How long a lent route is planned from without asking its grain again: the bound on a lost revocation.</summary>
    public static readonly TimeSpan LeasePeriod = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, Held> _routes = new(StringComparer.Ordinal);

    /// <summary>Failure reports from this silo that the route grain has not yet taken, by route key.</summary>
    private readonly ConcurrentDictionary<string, int> _reporting = new(StringComparer.Ordinal);

    /// <summary>Leases ended per route key (revoked, or by a failure report), so a grant that crossed a revocation is not taken.</summary>
    private readonly ConcurrentDictionary<string, long> _ended = new(StringComparer.Ordinal);

    private long _plannedOnLease;
    private long _revoked;

    public SteadyRoutes()
        : this(TimeProvider.System)
    {
    }

    /// <summary>Calls this silo planned from a route lent by a grain active elsewhere.</summary>
    public long PlannedOnLease => Interlocked.Read(ref _plannedOnLease);

    /// <summary>Revocations this silo received from route grains.</summary>
    public long Revoked => Interlocked.Read(ref _revoked);

    /// <summary>The plan for a call, if the route is published here or lent to this silo, and steady.</summary>
    public Result<RoutePlan>? Plan(string key, PlanRequest request)
    {
        if (!_routes.TryGetValue(key, out var held) || _reporting.ContainsKey(key))
        {
            return null;
        }

        if (held.Until is { } until && time.GetTimestamp() >= until)
        {
            _routes.TryRemove(new KeyValuePair<string, Held>(key, held));
            return null;
        }

        if (held.Until is null)
        {
            GatewayMetrics.RoutePlan(GatewayMetrics.PlannedInRouteSilo);
        }
        else
        {
            Interlocked.Increment(ref _plannedOnLease);
            GatewayMetrics.RoutePlan(GatewayMetrics.PlannedOnLease);
        }

        return held.Route.Plan(request);
    }

    /// <summary>Sends a failed attempt's report to the route grain; until the grain has it, this silo's calls to the route ask the grain.</summary>
    public Task Report(IModelRouteGrain route, AttemptReport report) => Report(route.GetPrimaryKeyString(), () => route.Report(report));

    /// <summary>
    /// Runs <paramref name="send"/>, a failure report to the route grain under <paramref name="key"/>; while it runs, calls
    /// here ask the grain. A lease on the route ends at once: the grain lends it again if the report left it steady.
    /// </summary>
    public async Task Report(string key, Func<Task> send)
    {
        _reporting.AddOrUpdate(key, 1, (_, pending) => pending + 1);
        EndLease(key);
        try
        {
            await send();
        }
        finally
        {
            if (_reporting.AddOrUpdate(key, 0, (_, pending) => pending - 1) == 0)
            {
                _reporting.TryRemove(new KeyValuePair<string, int>(key, 0)); // only if no other report began meanwhile
            }
        }
    }

    /// <summary>Whether the route grain under <paramref name="key"/> is active here and steady.</summary>
    public bool Holds(string key) => _routes.TryGetValue(key, out var held) && held.Until is null;

    /// <summary>Whether this silo holds a lease on the route under <paramref name="key"/> that has not ended.</summary>
    public bool Leases(string key) => _routes.TryGetValue(key, out var held) && held.Until is { } until && time.GetTimestamp() < until;

    /// <summary>The route grain publishes its steady route (or, with <c>null</c>, withdraws it), inside its own turns.</summary>
    public void Publish(string key, SteadyRoute? route)
    {
        if (route is null)
        {
            _routes.TryRemove(key, out _);
        }
        else
        {
            _routes[key] = new Held(route, null);
        }
    }

    /// <summary>Taken just before this silo asks the grain under <paramref name="key"/> for a plan and a lease.</summary>
    public Asking Ask(string key) => new(time.GetTimestamp(), _ended.GetValueOrDefault(key));

    /// <summary>
    /// Takes the lease a grain granted with a plan, for its period from <paramref name="asked"/> (before the grain granted
    /// it, so it ends here no later than the grain counts it held), unless a lease on the route ended since the asking
    /// (the revocation may be of this very grant, overtaken on its way) or a failure report is on its way.
    /// </summary>
    public void Lend(string key, LeasedPlan leased, Asking asked)
    {
        if (leased.Lease is not { } route || _ended.GetValueOrDefault(key) != asked.Ended || _reporting.ContainsKey(key))
        {
            return;
        }

        var until = asked.At + (long)(leased.For.TotalSeconds * time.TimestampFrequency);
        _routes.AddOrUpdate(key, new Held(route, until), (_, held) => held.Until is null ? held : new Held(route, until)); // a route published here stays
    }

    /// <summary>The route grain under <paramref name="key"/> ends this silo's lease (a route published here is the grain's own, and stays).</summary>
    public Task Revoke(string key)
    {
        Interlocked.Increment(ref _revoked);
        EndLease(key);
        return Task.CompletedTask;
    }

    private void EndLease(string key)
    {
        _ended.AddOrUpdate(key, 1, (_, ended) => ended + 1);
        if (_routes.TryGetValue(key, out var held) && held.Until is not null)
        {
            _routes.TryRemove(new KeyValuePair<string, Held>(key, held));
        }
    }

    /// <summary>A steady route and, when lent, the timestamp its lease ends.</summary>
    private sealed record Held(SteadyRoute Route, long? Until);

    /// <summary>When this silo asked for a lease, and how many leases on the route had ended by then.</summary>
    public readonly record struct Asking(long At, long Ended);
}

/// <summary>A steady route as its grain last saw it: the version, and each deployment's latency averages for ordering.</summary>
[GenerateSerializer, Immutable, Alias("conv.SteadyRoute")]
public sealed record SteadyRoute(
    [property: Id(0)] string Alias,
    [property: Id(1)] int Version,
    [property: Id(2)] RouteConfig Config,
    [property: Id(3)] IReadOnlyDictionary<string, double?> Latency,
    [property: Id(4)] IReadOnlyDictionary<string, double?> FirstTokenLatency)
{
    public Result<RoutePlan> Plan(PlanRequest request)
    {
        var fits = RouteSelector.Fitting(Config, request);
        if (fits.Count == 0)
        {
            return RouteSelector.NothingFits(Alias, request);
        }

        var latency = request.Streaming ? FirstTokenLatency : Latency;
        return new RoutePlan(Alias, Version, RouteSelector.Order(Alias, Config, fits, request, d => latency[d.Name], Random.Shared.NextDouble()), Config);
    }
}
