using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Api;

/// <summary>One trace spans the HTTP request, the grain call and the provider call.</summary>
[Collection(GatewayCollection.Name)]
public sealed class TracingTests(GatewayFixture fixture)
{
    [Fact]
    public async Task A_turn_produces_http_grain_and_provider_spans_in_one_trace()
    {
        using var testSource = new ActivitySource("Conversations.Tests");
        var spans = new ConcurrentBag<Activity>();
        ActivityTraceId? traceId = null;
        using var listener = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            // Started, not stopped: the server's request span ends only after the client has the response.
            ActivityStarted = activity =>
            {
                if (activity.TraceId == traceId)
                {
                    spans.Add(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        using var http = fixture.Gateway.Http();
        var conversation = await Hosting.HttpConversation.CreateAsync(http);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/responses")
        {
            Content = ChatCompletionsTests.Json($$"""{"model":"sim-small","conversation":"{{conversation.Id}}","input":"trace me"}"""),
        };
        HttpResponseMessage response;
        using (var root = testSource.StartActivity("client turn"))
        {
            traceId = root!.TraceId;
            response = await http.SendAsync(request);
        }

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        response.Dispose();
        var sources = spans.Select(s => s.Source.Name).ToHashSet();
        Assert.True(sources.Contains("Microsoft.AspNetCore"), string.Join(", ", sources));
        Assert.Contains(sources, s => s.StartsWith("Microsoft.Orleans", StringComparison.Ordinal));
        Assert.Contains(spans, s => s.Source.Name == "Conversations.Providers" && s.DisplayName.StartsWith("chat", StringComparison.Ordinal));
    }
}
