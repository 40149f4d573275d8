using System.Collections.Concurrent;
using Conversations.Routing;

namespace Conversations.Grains.Routing;

/// <summary>
/// The routes whose grain is active in this silo and steady: every deployment callable (closed circuit, no
/// cool-down, so no trial to hand out). A route grain publishes itself here at the end of each turn that
/// leaves it steady and withdraws in the turn that ends it, so a call on this silo is planned here, by the
/// same selection the grain makes, without a grain call (a hop to an idle grain costs more than anything else in
/// the call; bench/README.md). While a failed attempt's report from this silo is on its way
/// to the grain, calls here ask the grain, so they queue behind the report as they would without this table.
/// Calls on other silos ask the grain. See docs/decisions/0022-steady-routes-planned-in-the-route-grains-silo.md.
/// </summary>
public sealed class SteadyRoutes
{
    private readonly ConcurrentDictionary<string, SteadyRoute> _routes = new(StringComparer.Ordinal);

    /// <summary>Failure reports from this silo that the route grain has not yet taken, by route key.</summary>
    private readonly ConcurrentDictionary<string, int> _reporting = new(StringComparer.Ordinal);

    /// <summary>The plan for a call, if the route grain under <paramref name="key"/> is active here and steady.</summary>
    public Result<RoutePlan>? Plan(string key, PlanRequest request) =>
        _routes.TryGetValue(key, out var route) && !_reporting.ContainsKey(key) ? route.Plan(request) : default(Result<RoutePlan>?);

    /// <summary>Sends a failed attempt's report to the route grain; until the grain has it, this silo's calls to the route ask the grain.</summary>
    public Task Report(IModelRouteGrain route, AttemptReport report) => Report(route.GetPrimaryKeyString(), () => route.Report(report));

    /// <summary>Runs <paramref name="send"/>, a failure report to the route grain under <paramref name="key"/>; while it runs, calls here ask the grain.</summary>
    public async Task Report(string key, Func<Task> send)
    {
        _reporting.AddOrUpdate(key, 1, (_, pending) => pending + 1);
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
    public bool Holds(string key) => _routes.ContainsKey(key);

    /// <summary>The route grain publishes its steady route (or, with <c>null</c>, withdraws it), inside its own turns.</summary>
    public void Publish(string key, SteadyRoute? route)
    {
        if (route is null)
        {
            _routes.TryRemove(key, out _);
        }
        else
        {
            _routes[key] = route;
        }
    }
}

/// <summary>A steady route as its grain last saw it: the version, and each deployment's latency averages for ordering.</summary>
public sealed record SteadyRoute(
    string Alias, int Version, RouteConfig Config, IReadOnlyDictionary<string, double?> Latency, IReadOnlyDictionary<string, double?> FirstTokenLatency)
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
