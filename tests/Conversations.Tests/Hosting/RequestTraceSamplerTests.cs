using System.Diagnostics;
using Conversations.Hosting;
using Conversations.Tests.Infrastructure;
using OpenTelemetry.Trace;

namespace Conversations.Tests.Hosting;

/// <summary>Requests are traced whole; what silos start on their own (timers, probes, storage) is sampled away by default.</summary>
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class RequestTraceSamplerTests
{
    [Fact]
    public void A_trace_an_http_request_starts_is_recorded()
    {
        var decision = Decide(RequestTraceSampler.Create(0), default, RequestTraceSampler.RequestOperation, ActivityKind.Server);

        Assert.Equal(SamplingDecision.RecordAndSample, decision);
    }

    [Theory]
    [InlineData("IGrainTimerInvoker/InvokeCallbackAsync", ActivityKind.Client)]
    [InlineData("IMembershipService/Ping", ActivityKind.Client)]
    [InlineData("GET", ActivityKind.Client)]
    public void A_trace_a_silo_starts_on_its_own_is_dropped_by_default_and_kept_at_ratio_one(string name, ActivityKind kind)
    {
        Assert.Equal(SamplingDecision.Drop, Decide(RequestTraceSampler.Create(0), default, name, kind));
        Assert.Equal(SamplingDecision.RecordAndSample, Decide(RequestTraceSampler.Create(1), default, name, kind));
    }

    [Fact]
    public void A_span_below_a_recorded_request_is_recorded_in_any_process_and_one_below_a_dropped_trace_is_not()
    {
        var sampler = RequestTraceSampler.Create(0);
        var recorded = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded, isRemote: true);
        var dropped = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.None, isRemote: true);

        Assert.Equal(SamplingDecision.RecordAndSample, Decide(sampler, recorded, "IConversationGrain/Append", ActivityKind.Server));
        Assert.Equal(SamplingDecision.Drop, Decide(sampler, dropped, "IConversationGrain/Append", ActivityKind.Server));
    }

    private static SamplingDecision Decide(Sampler sampler, ActivityContext parent, string name, ActivityKind kind) =>
        sampler.ShouldSample(new SamplingParameters(parent, parent == default ? ActivityTraceId.CreateRandom() : parent.TraceId, name, kind)).Decision;
}
