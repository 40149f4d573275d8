using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Conversations.Providers;
using Conversations.Routing;

namespace Conversations.Grains.Routing;

/// <summary>
/// Orders a route's available deployments for one call: the strategy's choice first, then the
/// fallbacks. Pure, so each strategy is tested by its distribution over many calls.
/// </summary>
public static class RouteSelector
{
    /// <summary>The deployments whose context window takes the request's prompt and requested output.</summary>
    public static List<RouteDeployment> Fitting(RouteConfig route, PlanRequest request) =>
        [.. route.Deployments.Where(d => request.PromptTokens == 0 || (long)request.PromptTokens + (request.MaxOutputTokens ?? 0) <= d.ContextWindow)];

    public static GatewayError NothingFits(string alias, PlanRequest request) => GatewayError.Invalid(
        $"The input ({request.PromptTokens} tokens) plus the requested output does not fit the context window of any deployment of '{alias}'.",
        "messages", ProviderException.ContextLengthExceeded);

    /// <param name="available">The deployments whose circuit and cool-down allow a call, in configuration order.</param>
    /// <param name="random">A uniform draw in [0, 1) for the weighted, canary and unkeyed sticky choices.</param>
    public static IReadOnlyList<RouteDeployment> Order(
        string alias, RouteConfig route, IReadOnlyList<RouteDeployment> available, PlanRequest request,
        Func<RouteDeployment, double?> latencyMs, double random)
    {
        var byPriority = available.OrderBy(d => d.Priority).ToList(); // stable: ties keep configuration order
        var first = route.Strategy switch
        {
            RouteStrategy.Weighted => ByWeight(available, random),
            RouteStrategy.Canary => Canary(route, available, random),
            RouteStrategy.Sticky => Sticky(alias, route, available, request.StickyKey, random),
            _ => null,
        };
        var ordered = route.Strategy switch
        {
            RouteStrategy.LeastLatency => [.. available.OrderBy(d => latencyMs(d) ?? -1).ThenBy(d => d.Priority)],
            RouteStrategy.LowestCost => [.. available.OrderBy(d => d.Prices.Cost(request.PromptTokens, request.MaxOutputTokens ?? d.MaxOutputTokens)).ThenBy(d => d.Priority)],
            RouteStrategy.Canary when first is null && route.CanaryDeployment is { } canary => [.. byPriority.Where(d => d.Name != canary), .. byPriority.Where(d => d.Name == canary)],
            _ => byPriority,
        };
        return first is null ? ordered : [first, .. ordered.Where(d => d != first)];
    }

    private static RouteDeployment? ByWeight(IReadOnlyList<RouteDeployment> deployments, double random)
    {
        var total = deployments.Sum(d => (long)d.Weight);
        if (total == 0)
        {
            return null;
        }

        var target = random * total;
        foreach (var deployment in deployments)
        {
            target -= deployment.Weight;
            if (target < 0)
            {
                return deployment;
            }
        }

        return deployments.Last(d => d.Weight > 0);
    }

    private static RouteDeployment? Canary(RouteConfig route, IReadOnlyList<RouteDeployment> available, double random) =>
        random * 100 < route.CanaryPercent ? available.FirstOrDefault(d => d.Name == route.CanaryDeployment) : null;

    /// <summary>
    /// The assignment is made over all configured deployments, not only the available ones, so a
    /// user keeps their deployment through another deployment's outage; only their own deployment's
    /// outage moves them (to the fallbacks) until it recovers.
    /// </summary>
    private static RouteDeployment? Sticky(string alias, RouteConfig route, IReadOnlyList<RouteDeployment> available, string? key, double random)
    {
        var assigned = ByWeight(route.Deployments, key is null ? random : StableDraw(alias, key));
        return assigned is null ? null : available.FirstOrDefault(d => d.Name == assigned.Name);
    }

    /// <summary>A uniform draw in [0, 1) from the alias and key: the same on every silo and across restarts.</summary>
    public static double StableDraw(string alias, string key)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(alias + "\n" + key));
        return (BinaryPrimitives.ReadUInt64LittleEndian(hash) >> 11) * (1.0 / (1UL << 53));
    }
}
