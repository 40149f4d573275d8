using Conversations.Tests.Infrastructure;
using Conversations.Grains.Routing;
using Conversations.Routing;

namespace Conversations.Tests.Routing;

/// <summary>Each strategy picks as specified, judged by its distribution over many calls (seeded, so repeatable).</summary>
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class RouteSelectorTests
{
    private const int Calls = 20_000;

    private static readonly RouteDeployment A = new() { Name = "a", Priority = 1, Weight = 3, Prices = new() { InputPerMillion = 5, OutputPerMillion = 15 } };
    private static readonly RouteDeployment B = new() { Name = "b", Priority = 0, Weight = 1, Prices = new() { InputPerMillion = 0.5m, OutputPerMillion = 1.5m } };
    private static readonly RouteDeployment C = new() { Name = "c", Priority = 2, Weight = 0, Prices = new() { InputPerMillion = 1, OutputPerMillion = 100 } };
    private static readonly PlanRequest Request = new(null, 1_000, 100, Streaming: false);

    [Fact]
    public void Priority_orders_by_priority_and_keeps_every_deployment_as_a_fallback()
    {
        var order = Order(new RouteConfig { Strategy = RouteStrategy.Priority, Deployments = [A, B, C] }, random: 0.5);

        Assert.Equal(["b", "a", "c"], order);
    }

    [Fact]
    public void Weighted_splits_calls_by_weight_within_statistical_bounds()
    {
        var route = new RouteConfig { Strategy = RouteStrategy.Weighted, Deployments = [A, B, C] };
        var random = new Random(42);

        var firsts = Enumerable.Range(0, Calls).Select(_ => Order(route, random.NextDouble())[0]).ToList();

        // Expected share of 'a' is 3/4; five standard deviations of a binomial at n = 20,000 is about 1.5 points.
        var shareA = firsts.Count(name => name == "a") / (double)Calls;
        Assert.InRange(shareA, 0.75 - 0.015, 0.75 + 0.015);
        Assert.DoesNotContain("c", firsts); // weight 0: only ever a fallback
        Assert.Equal(["a", "b", "c"], Order(route, random: 0.1)); // fallbacks follow priority
    }

    [Fact]
    public void Canary_gets_its_percentage_and_is_the_last_fallback_otherwise()
    {
        var route = new RouteConfig { Strategy = RouteStrategy.Canary, Deployments = [A, B], CanaryDeployment = "a", CanaryPercent = 10 };
        var random = new Random(7);

        var shareCanary = Enumerable.Range(0, Calls).Count(_ => Order(route, random.NextDouble())[0] == "a") / (double)Calls;

        Assert.InRange(shareCanary, 0.10 - 0.011, 0.10 + 0.011); // five standard deviations
        Assert.Equal(["b", "a"], Order(route, random: 0.5));
        Assert.Equal(["a", "b"], Order(route, random: 0.05));
    }

    [Fact]
    public void Sticky_keeps_each_user_on_one_deployment_and_splits_users_by_weight()
    {
        var route = new RouteConfig { Strategy = RouteStrategy.Sticky, Deployments = [A, B] };
        var users = Enumerable.Range(0, 4_000).Select(i => $"user-{i}").ToList();

        var assigned = users.ToDictionary(u => u, u => Order(route, random: 0.99, sticky: u)[0]);
        var again = users.ToDictionary(u => u, u => Order(route, random: 0.01, sticky: u)[0]); // the draw no longer matters

        Assert.Equal(assigned, again);
        Assert.InRange(assigned.Values.Count(d => d == "a") / (double)users.Count, 0.75 - 0.035, 0.75 + 0.035);
    }

    [Fact]
    public void Sticky_users_keep_their_deployment_when_another_one_is_down_and_move_only_when_theirs_is()
    {
        var route = new RouteConfig { Strategy = RouteStrategy.Sticky, Deployments = [A, B] };
        var onB = Enumerable.Range(0, 200).Select(i => $"user-{i}").First(u => Order(route, 0.5, u)[0] == "b");

        Assert.Equal(["b"], RouteSelector.Order("alias", route, [B], Request with { StickyKey = onB }, _ => null, 0.5).Select(d => d.Name));
        Assert.Equal(["a"], RouteSelector.Order("alias", route, [A], Request with { StickyKey = onB }, _ => null, 0.5).Select(d => d.Name));
    }

    [Fact]
    public void Least_latency_tries_unmeasured_deployments_first_then_the_fastest()
    {
        var route = new RouteConfig { Strategy = RouteStrategy.LeastLatency, Deployments = [A, B, C] };
        var measured = new Dictionary<string, double?> { ["a"] = 120, ["b"] = 300 };

        var order = RouteSelector.Order("alias", route, route.Deployments, Request, d => measured.GetValueOrDefault(d.Name), 0.5).Select(d => d.Name);

        Assert.Equal(["c", "a", "b"], order);
    }

    [Fact]
    public void Lowest_cost_prices_this_calls_prompt_and_output()
    {
        var route = new RouteConfig { Strategy = RouteStrategy.LowestCost, Deployments = [A, B, C] };

        // 1,000 in + 100 out: b = 0.00065, c = 0.011, a = 0.0065 USD. With 10,000 out, c's output price makes it dearest.
        Assert.Equal(["b", "a", "c"], Order(route, 0.5));
        var longAnswer = RouteSelector.Order("alias", route, route.Deployments, Request with { MaxOutputTokens = 10_000 }, _ => null, 0.5);
        Assert.Equal("c", longAnswer[^1].Name);
    }

    [Fact]
    public void A_stable_draw_is_the_same_for_the_same_user_and_differs_between_routes()
    {
        Assert.Equal(RouteSelector.StableDraw("gpt", "alice"), RouteSelector.StableDraw("gpt", "alice"));
        Assert.NotEqual(RouteSelector.StableDraw("gpt", "alice"), RouteSelector.StableDraw("claude", "alice"));
        Assert.InRange(RouteSelector.StableDraw("gpt", "alice"), 0, 1);
    }

    private static List<string> Order(RouteConfig route, double random, string? sticky = null) =>
        [.. RouteSelector.Order("alias", route, route.Deployments, Request with { StickyKey = sticky }, _ => null, random).Select(d => d.Name)];
}
