using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using Conversations.Api.Hosting;
using Conversations.Api.Streaming;
using Conversations.Grains.Routing;
using Conversations.Tests.Api;
using Conversations.Tests.Infrastructure;
using static Conversations.Tests.Routing.RoutingFixture;

namespace Conversations.Tests.Routing;

/// <summary>
/// Retries and fallback on each kind of fault, over real HTTP, with several simulated upstream
/// servers of which one is made to fail. The client sees the failure only when no deployment can
/// serve it or the route's rules say not to fall back.
/// </summary>
public sealed class FallbackTests(RoutingFixture fixture) : IClassFixture<RoutingFixture>
{
    [Fact]
    public async Task A_server_error_is_retried_then_falls_back_and_the_client_never_sees_it()
    {
        await fixture.Primary.SetFault("[sim:status=503]");
        try
        {
            using var response = await Chat("r503", "marker-503");

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("s", Header(response, CallHeaders.Deployment));
            Assert.Equal("3", Header(response, CallHeaders.Attempts)); // p, p again after backoff, then s
            Assert.Equal(2, await Received(fixture.Primary, "marker-503"));
            Assert.Equal(1, await Received(fixture.Secondary, "marker-503"));
        }
        finally
        {
            await fixture.Primary.SetFault(string.Empty);
        }
    }

    [Fact]
    public async Task A_429_falls_back_at_once_and_the_deployment_cools_down_for_its_retry_after()
    {
        await fixture.Primary.SetFault("[sim:status=429] [sim:retry=30]");
        using var throttled = await Chat("r429", "marker-429-a");
        await fixture.Primary.SetFault(string.Empty);
        using var cooling = await Chat("r429", "marker-429-b");
        using var admin = fixture.Gateway.Http();
        var route = JsonDocument.Parse(await admin.GetStringAsync(new Uri("/v1/admin/tenants/default/routes/r429", UriKind.Relative))).RootElement;

        Assert.Equal(HttpStatusCode.OK, throttled.StatusCode);
        Assert.Equal(("s", "2"), (Header(throttled, CallHeaders.Deployment), Header(throttled, CallHeaders.Attempts)));
        Assert.Equal(("s", "1"), (Header(cooling, CallHeaders.Deployment), Header(cooling, CallHeaders.Attempts)));
        Assert.Equal(0, await Received(fixture.Primary, "marker-429-b")); // healthy again, but it asked for 30 s
        var primary = route.GetProperty("health").EnumerateArray().Single(h => h.GetProperty("deployment").GetString() == "p");
        Assert.True(primary.GetProperty("cooling_until").GetInt64() > DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        Assert.Equal("closed", primary.GetProperty("circuit").GetString()); // throttling is not ill health
    }

    [Fact]
    public async Task Statuses_outside_the_routes_fallback_rules_reach_the_client_from_the_first_deployment()
    {
        await fixture.Primary.SetFault("[sim:status=429] [sim:retry=7]");
        try
        {
            using var throttled = await Chat("rules", "marker-rules-429");
            await fixture.Primary.SetFault("[sim:status=422]");
            using var refused = await Chat("r503", "marker-rules-422");

            var error = await throttled.AssertOpenAIError(HttpStatusCode.TooManyRequests);
            Assert.Equal("rate_limit_error", error.GetProperty("type").GetString());
            Assert.Equal("7", throttled.Headers.RetryAfter?.Delta?.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(("p", "1"), (Header(throttled, CallHeaders.Deployment), Header(throttled, CallHeaders.Attempts)));
            await refused.AssertOpenAIError(HttpStatusCode.UnprocessableEntity);
            Assert.Equal("1", Header(refused, CallHeaders.Attempts));
            Assert.Equal(0, await Received(fixture.Secondary, "marker-rules"));
        }
        finally
        {
            await fixture.Primary.SetFault(string.Empty);
        }
    }

    [Fact]
    public async Task A_stream_with_no_first_token_before_the_timeout_falls_back()
    {
        await fixture.Primary.SetFault("[sim:hang]");
        try
        {
            using var response = await Chat("hang", "marker-hang", stream: true);
            var body = await response.Content.ReadAsStringAsync();

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(("s", "2"), (Header(response, CallHeaders.Deployment), Header(response, CallHeaders.Attempts)));
            Assert.EndsWith("data: [DONE]\n\n", body, StringComparison.Ordinal);
        }
        finally
        {
            await fixture.Primary.SetFault(string.Empty);
        }
    }

    [Fact]
    public async Task A_call_waiting_for_a_whole_answer_falls_back_when_an_attempt_outlives_its_timeout()
    {
        await fixture.Primary.SetFault("[sim:hang]");
        try
        {
            using var response = await Chat("slow", "marker-slow");

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(("s", "2"), (Header(response, CallHeaders.Deployment), Header(response, CallHeaders.Attempts)));
        }
        finally
        {
            await fixture.Primary.SetFault(string.Empty);
        }
    }

    [Fact]
    public async Task A_call_that_outlives_the_routes_total_timeout_answers_504_and_tries_nothing_more()
    {
        using var response = await Chat("total", "marker-total [sim:hang]");

        var error = await response.AssertOpenAIError(HttpStatusCode.GatewayTimeout);
        Assert.Equal("upstream_timeout", error.GetProperty("code").GetString());
        Assert.Equal(("p", "1"), (Header(response, CallHeaders.Deployment), Header(response, CallHeaders.Attempts)));
        Assert.Equal(0, await Received(fixture.Secondary, "marker-total"));
    }

    [Fact]
    public async Task A_deployment_nobody_answers_at_is_retried_then_falls_back()
    {
        using var response = await Chat("unreachable", "marker-unreachable");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(("s", "3"), (Header(response, CallHeaders.Deployment), Header(response, CallHeaders.Attempts)));
    }

    [Fact]
    public async Task A_context_length_error_falls_back_to_a_deployment_with_a_larger_window()
    {
        var longInput = "marker-window " + string.Join(' ', Enumerable.Repeat("conversation", 80));

        using var fallback = await Chat("window", longInput);
        var tightTried = await Received(fixture.Tight, "marker-window");
        using var nowhere = await Chat("window-only", longInput);

        Assert.Equal(HttpStatusCode.OK, fallback.StatusCode);
        Assert.Equal(("s", "2"), (Header(fallback, CallHeaders.Deployment), Header(fallback, CallHeaders.Attempts)));
        Assert.Equal(1, tightTried); // a context-length refusal is not retried on the same deployment
        var error = await nowhere.AssertOpenAIError(HttpStatusCode.BadRequest, "messages");
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_stream_whose_deployment_fails_before_the_first_token_is_complete_and_clean_for_the_client()
    {
        await fixture.Primary.SetFault("[sim:status=502]");
        try
        {
            using var response = await Chat("stream", "marker-stream", stream: true);
            var body = await response.Content.ReadAsStringAsync();

            Assert.Equal(("s", "2"), (Header(response, CallHeaders.Deployment), Header(response, CallHeaders.Attempts)));
            Assert.DoesNotContain("\"error\"", body, StringComparison.Ordinal);
            Assert.Contains("\"finish_reason\":\"stop\"", body, StringComparison.Ordinal);
            Assert.EndsWith("data: [DONE]\n\n", body, StringComparison.Ordinal);
        }
        finally
        {
            await fixture.Primary.SetFault(string.Empty);
        }
    }

    [Fact]
    public async Task A_stream_cut_after_its_first_token_ends_with_an_error_and_counts_against_the_deployment()
    {
        using var response = await Chat("cut", "marker-cut [sim:cut=3]", stream: true);
        var body = await response.Content.ReadAsStringAsync();
        using var admin = fixture.Gateway.Http();
        var route = JsonDocument.Parse(await admin.GetStringAsync(new Uri("/v1/admin/tenants/default/routes/cut", UriKind.Relative))).RootElement;

        Assert.Equal("p", Header(response, CallHeaders.Deployment));
        Assert.Contains("\"delta\":{\"content\"", body, StringComparison.Ordinal);
        Assert.Contains("\"error\"", body, StringComparison.Ordinal);
        Assert.DoesNotContain("[DONE]", body, StringComparison.Ordinal);
        Assert.DoesNotContain("\"finish_reason\":\"stop\"", body, StringComparison.Ordinal);
        Assert.Equal(0, await Received(fixture.Secondary, "marker-cut")); // tokens were sent: no silent switch
        var primary = route.GetProperty("health").EnumerateArray().Single(h => h.GetProperty("deployment").GetString() == "p");
        Assert.Equal(1, primary.GetProperty("failures").GetInt64());
    }

    [Fact]
    public async Task Each_attempt_is_a_span_naming_its_deployment()
    {
        var attempts = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == ModelRouter.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if ((string?)activity.GetTagItem("conversations.route") == "spans")
                {
                    lock (attempts)
                    {
                        attempts.Add(activity);
                    }
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        await fixture.Primary.SetFault("[sim:status=500]");
        try
        {
            using var response = await Chat("spans", "marker-spans");

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(["p", "p", "s"], attempts.OrderBy(a => (int)a.GetTagItem("conversations.attempt")!).Select(a => (string?)a.GetTagItem("conversations.deployment")));
            Assert.Equal([ActivityStatusCode.Error, ActivityStatusCode.Error, ActivityStatusCode.Unset], attempts.OrderBy(a => (int)a.GetTagItem("conversations.attempt")!).Select(a => a.Status));
        }
        finally
        {
            await fixture.Primary.SetFault(string.Empty);
        }
    }

    [Fact]
    public async Task A_redirecting_deployment_is_not_followed_and_the_client_gets_a_gateway_error()
    {
        using var response = await Chat("timed", "marker-redirect [sim:redirect]");

        var error = await response.AssertOpenAIError(HttpStatusCode.BadGateway);
        Assert.Equal("upstream_error", error.GetProperty("type").GetString());
        // Followed, the call would have gone again without its key (.NET drops it on a redirect) and been refused:
        // "The model provider refused the gateway's credentials."
        Assert.Equal("The model provider returned an error.", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task The_upstreams_time_is_told_apart_from_the_gateways_in_server_timing_and_the_overhead_metric()
    {
        var recorded = System.Threading.Channels.Channel.CreateUnbounded<double>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, meters) =>
            {
                if (instrument.Name == GatewayOverhead.Instrument)
                {
                    meters.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag is { Key: GatewayOverhead.DeploymentTag, Value: "timed" })
                {
                    recorded.Writer.TryWrite(value);
                }
            }
        });
        listener.Start();
        using (await Chat("timed", "marker-timing warm-up"))
        {
            await recorded.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30)); // the route's activation and client are not measured below
        }

        var client = Stopwatch.StartNew();
        using var response = await Chat("timed", "marker-timing [sim:delay=1000]");
        client.Stop();
        using var inProcess = await Chat("sim-small", "marker-timing in process");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var timing = Header(response, CallHeaders.ServerTiming);
        Assert.StartsWith("upstream;dur=", timing, StringComparison.Ordinal);
        var upstream = double.Parse(timing["upstream;dur=".Length..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(upstream, 990, client.Elapsed.TotalMilliseconds); // the upstream's 1 s (less a timer tick), inside what the client waited
        var overhead = await recorded.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30)); // recorded as the response ends
        Assert.InRange(overhead, 0, upstream); // the gateway's share leaves out the second the upstream held its answer
        Assert.False(inProcess.Headers.Contains(CallHeaders.ServerTiming)); // an in-process model makes no upstream exchange
    }

    [Fact]
    public async Task An_Anthropic_deployment_serves_chat_completions_with_usage_both_ways()
    {
        var chat = fixture.Gateway.OpenAI().GetChatClient("claude");

        var completion = (await chat.CompleteChatAsync([new OpenAI.Chat.SystemChatMessage("be brief"), new OpenAI.Chat.UserChatMessage("marker-claude hello")])).Value;
        OpenAI.Chat.ChatTokenUsage? streamedUsage = null;
        var streamed = new System.Text.StringBuilder();
        await foreach (var update in chat.CompleteChatStreamingAsync([new OpenAI.Chat.UserChatMessage("marker-claude stream")]))
        {
            streamed.Append(string.Concat(update.ContentUpdate.Select(part => part.Text)));
            streamedUsage ??= update.Usage;
        }

        Assert.Contains("marker-claude hello", completion.Content[0].Text, StringComparison.Ordinal);
        Assert.True(completion.Usage.InputTokenCount > 0 && completion.Usage.OutputTokenCount > 0);
        Assert.Contains("marker-claude stream", streamed.ToString(), StringComparison.Ordinal);
        Assert.NotNull(streamedUsage);
        var sent = (await fixture.Secondary.ReceivedRequests()).Last(r => r.GetRawText().Contains("marker-claude hello", StringComparison.Ordinal));
        Assert.Equal("claude-sim", sent.GetProperty("model").GetString());
        Assert.Equal("be brief", sent.GetProperty("system").GetString());
        Assert.True(sent.GetProperty("max_tokens").GetInt32() > 0);
    }

    private async Task<HttpResponseMessage> Chat(string model, string content, bool stream = false)
    {
        using var http = fixture.Gateway.Http();
        return await http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(Body(model, content, stream)));
    }
}
