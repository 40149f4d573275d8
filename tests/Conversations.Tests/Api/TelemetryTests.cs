using System.Diagnostics;
using Conversations.Providers;
using Conversations.Tests.Infrastructure;
using OpenAI.Chat;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace Conversations.Tests.Api;

/// <summary>
/// OpenTelemetry's GenAI conventions on a provider call over real HTTP (to the simulated upstream), and the
/// Prometheus scrape of the embedded default.
/// </summary>
public sealed class TelemetryTests : UpstreamGatewayTest
{
    [Fact]
    public async Task A_provider_call_is_a_gen_ai_span_naming_provider_model_usage_and_finish_without_the_messages()
    {
        await using var embedded = new GatewayFactory(); // the default routes: the in-process simulated model
        var trace = ActivityTraceId.CreateRandom();
        var exported = new List<Activity>();
        using (var tracing = Sdk.CreateTracerProviderBuilder()
            .SetSampler(new OneTraceSampler(trace)) // spans of tests running beside this one are not recorded
            .AddSource(TestSource.Name, "Microsoft.AspNetCore", "Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application", "Conversations.*")
            .AddInMemoryExporter(exported)
            .Build())
        {
            using (TestSource.StartActivity("client call", ActivityKind.Client, new ActivityContext(trace, ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded)))
            {
                await Gateway.OpenAI().GetChatClient("remote").CompleteChatAsync([new UserChatMessage("a private prompt")]);
                await embedded.OpenAI().GetChatClient("sim-small").CompleteChatAsync([new UserChatMessage("another private prompt")]);
            }

            tracing.ForceFlush();
        }

        var modelCalls = exported.Where(a => a.Source.Name == ProviderClients.ActivitySource && a.OperationName.StartsWith("chat", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, modelCalls.Count);
        var span = Assert.Single(modelCalls, a => a.GetTagItem("gen_ai.provider.name") is "openai");
        Assert.Equal("chat", span.GetTagItem("gen_ai.operation.name"));
        Assert.Equal("openai", span.GetTagItem("gen_ai.provider.name"));
        Assert.Equal("sim-upstream", span.GetTagItem("gen_ai.request.model"));
        Assert.False(string.IsNullOrEmpty(span.GetTagItem("gen_ai.response.model") as string));
        Assert.True(Convert.ToInt64(span.GetTagItem("gen_ai.usage.input_tokens"), System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.True(Convert.ToInt64(span.GetTagItem("gen_ai.usage.output_tokens"), System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Contains("stop", Assert.IsType<string>(span.GetTagItem("gen_ai.response.finish_reasons")), StringComparison.Ordinal);
        Assert.DoesNotContain(span.TagObjects, tag => tag.Value is string text && text.Contains("a private prompt", StringComparison.Ordinal));
        Assert.Null(span.GetTagItem("gen_ai.input.messages"));

        var simulated = Assert.Single(modelCalls, a => a.GetTagItem("gen_ai.provider.name") is SimulatedChatClient.ProviderName);
        Assert.Equal("sim-small", simulated.GetTagItem("gen_ai.request.model"));
        Assert.True(Convert.ToInt64(simulated.GetTagItem("gen_ai.usage.output_tokens"), System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.DoesNotContain(simulated.TagObjects, tag => tag.Value is string text && text.Contains("another private prompt", StringComparison.Ordinal));
    }

    [Fact]
    public async Task After_a_call_the_prometheus_scrape_shows_gen_ai_token_usage_and_the_gateways_own_metrics()
    {
        await foreach (var _ in Gateway.OpenAI().GetChatClient("remote").CompleteChatStreamingAsync([new UserChatMessage("count me")]))
        {
        }

        await Gateway.OpenAI().GetChatClient("remote").CompleteChatAsync([new UserChatMessage("and me")]);

        using var http = Gateway.Http(apiKey: null);
        var scrape = await http.GetStringAsync("/metrics");
        TestContext.Current.TestOutputHelper?.WriteLine(string.Join(' ', scrape.Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2])));

        Assert.Contains("gen_ai_client_token_usage", scrape, StringComparison.Ordinal);
        Assert.Contains("gen_ai_client_operation_duration", scrape, StringComparison.Ordinal);
        Assert.Contains("gen_ai_server_time_to_first_token", scrape, StringComparison.Ordinal);
        Assert.Contains("conversations_gateway_overhead", scrape, StringComparison.Ordinal);
        Assert.Contains("conversations_route_calls", scrape, StringComparison.Ordinal);
        Assert.Contains("conversations_admissions", scrape, StringComparison.Ordinal);
        Assert.Contains("orleans_", scrape, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_prometheus_switched_off_there_is_no_scrape_endpoint()
    {
        await using var gateway = new GatewayFactory(new Dictionary<string, string?> { ["Conversations:Telemetry:Prometheus"] = "false" });
        using var http = gateway.Http(apiKey: null);

        using var scrape = await http.GetAsync("/metrics");

        Assert.Equal(System.Net.HttpStatusCode.NotFound, scrape.StatusCode);
    }

    private static readonly ActivitySource TestSource = new("Conversations.Tests.Telemetry");

    private sealed class OneTraceSampler(ActivityTraceId trace) : Sampler
    {
        public override SamplingResult ShouldSample(in SamplingParameters samplingParameters) =>
            new(samplingParameters.TraceId == trace ? SamplingDecision.RecordAndSample : SamplingDecision.Drop);
    }
}
