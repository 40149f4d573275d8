using System.Collections.Concurrent;
using Conversations.Providers;
using Conversations.Routing;
using Polly;
using Polly.Retry;

namespace Conversations.Grains.Routing;

/// <summary>An attempt along a route: it failed (<see cref="Failure"/> set) or it did not.</summary>
internal interface IRouteAttempt
{
    AttemptFailure? Failure { get; }
}

/// <summary>
/// Polly's retry strategy, driven by a call's <see cref="AttemptCursor"/>: the cursor says whether
/// another attempt can help and where it goes (<see cref="AttemptCursor.Advance"/>) and how long to
/// wait (<see cref="AttemptCursor.NextDelay"/>; <c>null</c> lets Polly apply its jittered exponential
/// backoff). One pipeline per distinct retry setting, in a bounded cache (tenants choose the settings).
/// </summary>
internal sealed class RouteRetries<T> where T : class, IRouteAttempt
{
    private const int MaxCachedPipelines = 64;

    private static readonly ResiliencePropertyKey<AttemptCursor> CursorKey = new("conversations.route-cursor");

    private readonly ConcurrentDictionary<(int, TimeSpan, TimeSpan), ResiliencePipeline<T>> _pipelines = new();

    public async ValueTask<T> Execute(RetrySettings retry, AttemptCursor cursor, Func<ValueTask<T>> attempt, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            context.Properties.Set(CursorKey, cursor);
            return await Pipeline(retry).ExecuteAsync(_ => attempt(), context);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private ResiliencePipeline<T> Pipeline(RetrySettings retry)
    {
        var key = (retry.MaxRetriesPerDeployment, retry.BaseDelay, retry.MaxDelay);
        return _pipelines.TryGetValue(key, out var pipeline) ? pipeline
            : _pipelines.Count < MaxCachedPipelines ? _pipelines.GetOrAdd(key, Build)
            : Build(key);
    }

    private static ResiliencePipeline<T> Build((int Retries, TimeSpan Delay, TimeSpan MaxDelay) key) =>
        new ResiliencePipelineBuilder<T>()
            .AddRetry(new RetryStrategyOptions<T>
            {
                MaxRetryAttempts = (RouteRules.MaxDeployments * (key.Retries + 1)) - 1, // the cursor decides; this only bounds it
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = key.Delay,
                MaxDelay = key.MaxDelay,
                ShouldHandle = static args => ValueTask.FromResult(
                    args.Outcome.Result?.Failure is { } failure && args.Context.Properties.GetValue(CursorKey, null!).Advance(failure)),
                DelayGenerator = static args => ValueTask.FromResult(args.Context.Properties.GetValue(CursorKey, null!).NextDelay),
            })
            .Build();
}
