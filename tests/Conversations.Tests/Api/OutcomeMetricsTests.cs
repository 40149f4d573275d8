using System.Globalization;
using System.Net;
using System.Text.Json;
using Conversations.Tests.Guardrails;
using Conversations.Tests.Infrastructure;
using Conversations.Tests.Tenancy;

namespace Conversations.Tests.Api;

/// <summary>
/// Response cache and guardrail outcomes in the Prometheus scrape, counted per tenant: each test makes its own tenant,
/// so calls made by tests running beside it (which share the process's meters) are not counted.
/// </summary>
public sealed class OutcomeMetricsTests : UpstreamGatewayTest
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        foreach (var (key, value) in Upstream.GatewaySettings("cached"))
        {
            settings[key] = value;
        }

        settings["Conversations:Routes:cached:Cache:Mode"] = "Exact";
    }

    [Fact]
    public async Task Cache_misses_hits_and_bypasses_are_counted_per_tenant()
    {
        var tenants = new TenantClient(Gateway.Http());
        var tenant = await tenants.CreateTenant();
        using var http = Gateway.Http((await tenants.CreateKey(tenant)).Secret);
        var body = ChatCompletionsTests.Json(Chat("cached", "Count my cache outcomes " + Guid.NewGuid().ToString("N")));
        var text = await body.ReadAsStringAsync();

        await Send(http, text);
        await Send(http, text);
        await Send(http, text);
        using (var bypass = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = ChatCompletionsTests.Json(text) })
        {
            bypass.Headers.CacheControl = new() { NoCache = true };
            using var response = await http.SendAsync(bypass);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await Scraped("conversations_cache_lookups_total", tenant, ("conversations_outcome", "miss"), 1);
        await Scraped("conversations_cache_lookups_total", tenant, ("conversations_outcome", "hit"), 2);
        await Scraped("conversations_cache_lookups_total", tenant, ("conversations_outcome", "bypass"), 1);
    }

    [Fact]
    public async Task Guardrail_findings_are_counted_by_guardrail_kind_and_action()
    {
        var (maskingTenant, masked) = await GuardedTenant.Create(Gateway, new { pii = new { action = "mask" } });
        var (blockingTenant, blocked) = await GuardedTenant.Create(Gateway, new { output = new { action = "block" } });
        using var masking = Gateway.Http(masked);
        using var blocking = Gateway.Http(blocked);

        await Send(masking, Chat("remote", "Mail zoe@example.com or ann@example.org"));
        using (var refused = await blocking.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(Chat("remote", "my ssn is 123-45-6789"))))
        {
            Assert.Equal("guardrail_blocked", (await refused.AssertOpenAIError(HttpStatusCode.BadRequest)).GetProperty("code").GetString());
        }

        await Scraped("conversations_guardrail_findings_total", maskingTenant,
            ("conversations_guardrail", "pii"), ("conversations_guardrail_kind", "email"), ("conversations_guardrail_action", "mask"), 2);
        await Scraped("conversations_guardrail_findings_total", blockingTenant, ("conversations_guardrail", "output"), ("conversations_guardrail_action", "block"), 1);
    }

    private static async Task Send(HttpClient http, string body)
    {
        using var response = await http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(body));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>
    /// Polls the scrape until the tenant's series holds <paramref name="expected"/> (the exporter may answer a scrape from
    /// its short cache of the previous one); fails with the series it saw.
    /// </summary>
    private Task Scraped(string metric, string tenant, (string Label, string Value) a, double expected) => Scraped(metric, tenant, [a], expected);

    private Task Scraped(string metric, string tenant, (string Label, string Value) a, (string Label, string Value) b, double expected) =>
        Scraped(metric, tenant, [a, b], expected);

    private Task Scraped(string metric, string tenant, (string Label, string Value) a, (string Label, string Value) b, (string Label, string Value) c, double expected) =>
        Scraped(metric, tenant, [a, b, c], expected);

    private async Task Scraped(string metric, string tenant, (string Label, string Value)[] labels, double expected)
    {
        using var http = Gateway.Http(apiKey: null);
        var seen = "no scrape yet";
        try
        {
            await Eventually.Get(async () =>
            {
                var lines = (await http.GetStringAsync("/metrics")).Split('\n')
                    .Where(line => line.StartsWith(metric + "{", StringComparison.Ordinal) && line.Contains($"conversations_tenant=\"{tenant}\"", StringComparison.Ordinal))
                    .ToList();
                seen = lines.Count == 0 ? "no series for the tenant" : string.Join("\n", lines);
                var total = lines.Where(line => labels.All(l => line.Contains($"{l.Label}=\"{l.Value}\"", StringComparison.Ordinal)))
                    .Sum(line => double.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture));
                return total == expected ? "found" : null;
            }, TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            Assert.Fail($"Expected {metric} {string.Join(", ", labels)} = {expected} for tenant {tenant}; the scrape had:\n{seen}");
        }
    }

    private static string Chat(string model, string text) => JsonSerializer.Serialize(new { model, messages = new[] { new { role = "user", content = text } } });
}
