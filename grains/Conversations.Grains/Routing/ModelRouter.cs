using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using Conversations.Providers;
using Conversations.Routing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains.Routing;

/// <summary>
/// Runs one model call along its route plan. Until a deployment has produced its first token (or,
/// for a call that waits for the whole answer, its answer), every failure is retried or falls back
/// through Polly's retry strategy, invisibly to the client. After the first token the call is
/// committed to that deployment: a failure then ends the stream with an error, never with a clean
/// finish. Each attempt is a span and is reported to the route grain: a success one-way, a failure awaited
/// (through <see cref="SteadyRoutes"/>, so this silo's calls plan through the grain until it has the report).
/// </summary>
public sealed partial class ModelRouter(ProviderClients clients, TokenCounter tokens, TimeProvider time, SteadyRoutes steady, ILogger<ModelRouter> logger)
{
    public const string ActivitySourceName = "Conversations.Routing";

    private static readonly ActivitySource Source = new(ActivitySourceName);
    private readonly RouteRetries<Attempt> _retries = new();

    public async IAsyncEnumerable<CompletionChunk> Run(
        RoutePlan plan, IModelRouteGrain route, CompletionRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var total = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        total.CancelAfter(plan.Config.Timeouts.Total);
        var call = new Call(plan, route, request, ChatMessages.From(request.Messages), Options(request), new AttemptCursor(plan), total, new UpstreamTime(), cancellationToken);

        Attempt attempt;
        try
        {
            attempt = await _retries.Execute(plan.Config.Retry, call.Cursor, () => Try(call), total.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            attempt = new Attempt(Failure: ProviderFailures.Classify(new TimeoutException(), plan.Config, false, totalTimedOut: true));
        }

        var servedBy = new ServedBy(call.Cursor.LastTried.Name, call.Cursor.Attempts, plan.Version, call.Upstream.Elapsed);
        GatewayMetrics.RouteCall(plan.Alias, servedBy.Deployment, attempt.Failure?.Error.Code ?? attempt.Failure?.Error.Type, servedBy.Deployment != plan.Deployments[0].Name);
        if (attempt.Failure is { } failure)
        {
            yield return new ErrorChunk(failure.Error) { Info = new CallInfo(Route: servedBy) };
            yield break;
        }

        if (attempt.Done is { } done)
        {
            yield return new FinalChunk(done) { Info = new CallInfo(Route: servedBy) };
            yield break;
        }

        await using var stream = attempt.Stream!;
        yield return new DeltaChunk(stream.FirstText, stream.FirstLogprobs) { Info = new CallInfo(Route: servedBy) };
        await foreach (var chunk in Rest(call, stream))
        {
            yield return chunk;
        }
    }

    /// <summary>One attempt: up to the first token of a stream, or the whole answer otherwise.</summary>
    private async ValueTask<Attempt> Try(Call call)
    {
        call.Cursor.Begin();
        UpstreamTime.Current = call.Upstream; // this attempt's exchanges are timed; reverted when it returns
        var deployment = call.Cursor.Deployment;
        var activity = Source.StartActivity("route.attempt");
        activity?.SetTag("conversations.route", call.Plan.Alias);
        activity?.SetTag("conversations.route.version", call.Plan.Version);
        activity?.SetTag("conversations.deployment", deployment.Name);
        activity?.SetTag("conversations.attempt", call.Cursor.Attempts);
        var started = time.GetTimestamp();
        var firstToken = CancellationTokenSource.CreateLinkedTokenSource(call.Total.Token);
        var cap = OutputCap.For(deployment, call.Request.MaxOutputTokens, tokens);
        var options = call.Options.Clone();
        options.MaxOutputTokens = cap.Limit;
        OpenStream? committed = null;
        // A stream must show its first token in time; a call that waits for the whole answer must have it in time.
        firstToken.CancelAfter(call.Request.StreamDeltas ? call.Plan.Config.Timeouts.FirstToken : call.Plan.Config.Timeouts.Attempt);

        IAsyncEnumerator<ChatResponseUpdate>? updates = null;
        try
        {
            var client = clients.For(deployment);
            if (!call.Request.StreamDeltas)
            {
                var response = await client.GetResponseAsync(call.Messages, options, firstToken.Token);
                var elapsed = time.GetElapsedTime(started);
                Succeeded(call, new AttemptReport(deployment.Name, AttemptOutcome.Succeeded, elapsed));
                activity?.Dispose();
                await OffSocketIfCounting(response.Usage);
                var text = cap.Take(response.Text);
                var logprobs = TokenLogprob.Within(Logprobs.Of(response), text.Length);
                return new Attempt(Done: Result(call, text, cap.Reached ? ChatFinishReason.Length : response.FinishReason, response.Usage, ChatMessages.Calls(response.Messages.SelectMany(m => m.Contents)), logprobs));
            }

            // The stream outlives this attempt, so it is tied to the whole call; the first-token timeout is disarmed below.
            var stream = new OpenStream(deployment, activity, started, firstToken, cap);
            updates = client.GetStreamingResponseAsync(call.Messages, options, firstToken.Token).GetAsyncEnumerator(firstToken.Token);
            var writingCalls = false;
            while (await updates.MoveNextAsync())
            {
                if (!writingCalls && ChatMessages.WritesCalls(updates.Current))
                {
                    // The model is writing calls, which have no first token: from here the attempt gets the whole-answer time.
                    writingCalls = true;
                    firstToken.CancelAfter(call.Plan.Config.Timeouts.Attempt);
                }

                stream.Observe(updates.Current);
                if (updates.Current.Text is { Length: > 0 } text)
                {
                    var first = cap.Take(text);
                    stream.Start(updates, first, TokenLogprob.Within(Logprobs.Of(updates.Current), first.Length), time.GetElapsedTime(started));
                    committed = stream;
                    return new Attempt(Stream: stream);
                }
            }

            // An answer without any text: complete if the provider finished it, cut otherwise.
            await updates.DisposeAsync();
            if (stream.FinishReason is null)
            {
                return await Failed(call, deployment, activity, ProviderFailures.Truncated(), null);
            }

            Succeeded(call, new AttemptReport(deployment.Name, AttemptOutcome.Succeeded, time.GetElapsedTime(started)));
            activity?.Dispose();
            await OffSocketIfCounting(stream.Usage);
            return new Attempt(Done: Result(call, string.Empty, stream.FinishReason, stream.Usage, stream.Calls));
        }
        catch (Exception exception) when (!call.Aborted.IsCancellationRequested)
        {
            if (updates is not null)
            {
                await updates.DisposeAsync();
            }

            var failure = ProviderFailures.Classify(
                exception, call.Plan.Config,
                firstTokenTimedOut: firstToken.IsCancellationRequested && !call.Total.IsCancellationRequested,
                totalTimedOut: call.Total.IsCancellationRequested);
            return await Failed(call, deployment, activity, failure, exception);
        }
        finally
        {
            if (committed is null)
            {
                firstToken.Dispose();
            }
        }
    }

    /// <summary>The stream after its first token: committed to its deployment, so a failure ends it with an error.</summary>
    private async IAsyncEnumerable<CompletionChunk> Rest(Call call, OpenStream stream)
    {
        var updates = stream.Updates;
        while (!stream.Cap.Reached) // at the cap the stream ends here, cut: disposing it stops the provider
        {
            AttemptFailure? failure = null;
            var hasNext = false;
            try
            {
                hasNext = await updates.MoveNextAsync();
            }
            catch (Exception exception) when (!call.Aborted.IsCancellationRequested)
            {
                failure = ProviderFailures.Classify(exception, call.Plan.Config, false, call.Total.IsCancellationRequested);
                ProviderFailures.Log(logger, stream.Deployment.Name, exception.GetType().Name, failure.UpstreamStatus, failure.Error.Status);
            }

            if (failure is null && !hasNext && stream.FinishReason is null)
            {
                LogTruncatedStream(stream.Deployment.Name);
                failure = ProviderFailures.Truncated();
            }

            if (failure is not null)
            {
                await ReportFailure(call, new AttemptReport(stream.Deployment.Name, AttemptOutcome.Failed));
                stream.Activity?.SetStatus(ActivityStatusCode.Error, failure.Error.Code);
                yield return new ErrorChunk(failure.Error);
                yield break;
            }

            if (!hasNext)
            {
                break;
            }

            stream.Observe(updates.Current);
            if (updates.Current.Text is { Length: > 0 } text && stream.Cap.Take(text, stream.Text) is { Length: > 0 } delta)
            {
                var logprobs = stream.Add(delta, TokenLogprob.Within(Logprobs.Of(updates.Current), delta.Length));
                yield return new DeltaChunk(delta, logprobs);
            }
        }

        Succeeded(call, new AttemptReport(stream.Deployment.Name, AttemptOutcome.Succeeded, time.GetElapsedTime(stream.Started), stream.FirstTokenAfter));
        await OffSocketIfCounting(stream.Usage);
        yield return new FinalChunk(Result(call, stream.Text.ToString(), stream.Cap.Reached ? ChatFinishReason.Length : stream.FinishReason, stream.Usage, stream.Calls, stream.Logprobs));
    }

    private async Task<Attempt> Failed(Call call, RouteDeployment deployment, Activity? activity, AttemptFailure failure, Exception? exception)
    {
        if (exception is not null)
        {
            ProviderFailures.Log(logger, deployment.Name, exception.GetType().Name, failure.UpstreamStatus, failure.Error.Status);
        }

        await ReportFailure(call, new AttemptReport(deployment.Name, failure.ReportAs, RetryAfter: failure.RetryAfter));
        activity?.SetStatus(ActivityStatusCode.Error, failure.Error.Code);
        activity?.SetTag("conversations.attempt.status", failure.Error.Status);
        activity?.Dispose();
        return new Attempt(Failure: failure);
    }

    private static void Succeeded(Call call, AttemptReport report) => _ = call.Route.ReportSuccess(report);

    /// <summary>Counts a failure before the call goes on; if the route grain cannot be reached, the call still goes on.</summary>
    private async Task ReportFailure(Call call, AttemptReport report)
    {
        try
        {
            await steady.Report(call.Route, report);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogReportFailed(exception, call.Plan.Alias);
        }
    }

    private CompletionResult Result(
        Call call, string text, ChatFinishReason? finish, UsageDetails? usage, IEnumerable<FunctionCall> calls, IReadOnlyList<TokenLogprob>? logprobs = null)
    {
        List<FunctionCall> made = [.. calls];
        var output = text + string.Concat(made.Select(c => ItemKinds.CountedText(string.Empty, c)));
        // A call cut short (length, content filter) keeps that reason, so no client runs a function on partial arguments.
        var reason = FinishReasonName(finish);
        if (reason is not ("length" or "content_filter"))
        {
            made = [.. made.Select(c => c.Arguments.Length == 0 ? c with { Arguments = "{}" } : c)]; // a finished call with no arguments has none: {}
        }

        return new(text, made.Count > 0 && reason == "stop" ? "tool_calls" : reason, ToUsage(usage, call.Request, output), call.Plan.Alias, ToolCalls: made.Count > 0 ? made : null, Logprobs: logprobs);
    }

    /// <summary>
    /// Before usage is counted with the tokenizer (a provider that reported none), leaves the thread the provider's answer
    /// completed on: with inline socket completions that is a socket thread, and a long prompt takes milliseconds to count.
    /// </summary>
    private static async ValueTask OffSocketIfCounting(UsageDetails? usage)
    {
        if (usage is not { InputTokenCount: not null, OutputTokenCount: not null })
        {
            await Task.Yield();
        }
    }

    /// <summary>Provider-reported usage wins; a provider that reports none is counted with the tokenizer.</summary>
    private TokenUsage ToUsage(UsageDetails? usage, CompletionRequest request, string output) => new(
        (int?)usage?.InputTokenCount ?? tokens.CountPrompt(request.PromptTexts),
        (int?)usage?.OutputTokenCount ?? tokens.Count(output));

    private static ChatOptions Options(CompletionRequest request)
    {
        var options = new ChatOptions
        {
            Temperature = request.Temperature,
            TopP = request.TopP,
            MaxOutputTokens = request.MaxOutputTokens,
            StopSequences = request.StopSequences is { Count: > 0 } stop ? [.. stop] : null,
        };
        ChatMessages.AddFormat(options, request.Format);
        ChatMessages.AddTools(options, request);
        Logprobs.Ask(options, request.Logprobs);
        return options;
    }

    private static string FinishReasonName(ChatFinishReason? reason) =>
        reason == ChatFinishReason.Length ? "length"
        : reason == ChatFinishReason.ContentFilter ? "content_filter"
        : reason == ChatFinishReason.ToolCalls ? "tool_calls"
        : "stop";

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not report a failed attempt to route {Route}")]
    private partial void LogReportFailed(Exception exception, string route);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model deployment {Deployment} ended its stream without a finish reason")]
    private partial void LogTruncatedStream(string deployment);

    private sealed record Call(
        RoutePlan Plan, IModelRouteGrain Route, CompletionRequest Request, List<ChatMessage> Messages, ChatOptions Options,
        AttemptCursor Cursor, CancellationTokenSource Total, UpstreamTime Upstream, CancellationToken Aborted);

    /// <summary>An attempt's outcome: failed, done (a whole answer), or a stream that has produced its first token.</summary>
    private sealed record Attempt(AttemptFailure? Failure = null, CompletionResult? Done = null, OpenStream? Stream = null) : IRouteAttempt;
}
