using System.Runtime.CompilerServices;
using Conversations.Caching;
using Conversations.Grains.Caching;
using Conversations.Routing;
using Conversations.Tenancy;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains.Pipeline;

/// <summary>
/// The response cache (decision 0031). On the way in, a call whose route (else tenant) caches looks its exact key up
/// (<see cref="CacheKey"/>) in its entry grain, which answers, or makes this call the lead of the fill while identical
/// misses wait for it; a semantic route then matches the question by meaning (<see cref="SemanticCache"/>). A hit is
/// replayed in its original pieces under the request's own ids, admitted as a request but charged no tokens or cost
/// (<see cref="ITenantQuotaGrain.SettleCacheHit"/>). On the way out, only a complete answer (its final chunk) is stored.
/// A route that does not cache costs a call nothing: the API reports it as a bypass.
/// </summary>
public sealed partial class CacheStage(IGrainFactory grains, SemanticCache semantic, TimeProvider clock, ILogger<CacheStage> logger) : ICallStage
{
    public IAsyncEnumerable<CompletionChunk> Run(ModelCall call, CallStep next, CancellationToken cancellationToken)
    {
        var policy = CachePolicy.Effective(call.Plan.Config.Cache, call.Request.Caller?.TenantCache);
        // A cached answer keeps no log probabilities, so a call that asks for them goes past the cache.
        return policy.Mode == CacheMode.Off || call.Request.CacheControl == CacheDirective.NoStore || call.Request.Logprobs is not null
            ? next(call, cancellationToken)
            : Cached(call, policy, next, cancellationToken);
    }

    private async IAsyncEnumerable<CompletionChunk> Cached(ModelCall call, CachePolicy policy, CallStep next, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var request = call.Request;
        var tenant = request.Caller?.Tenant ?? PlatformRoutes.Tenant;
        var key = CacheKey.Exact(tenant, call.Plan.Version, request, policy.Scope);
        var entry = grains.Reference<ICacheEntryGrain>(GrainKeys.For(tenant, key));
        var leaseId = Ids.Opaque();
        var looksUp = request.CacheControl != CacheDirective.NoCache;
        var (lookup, probe, semanticHit) = looksUp ? await Find(entry, leaseId, tenant, call, policy, cancellationToken) : (new CacheLookup(null, false), null, false);
        GatewayMetrics.CacheLookup(tenant, !looksUp ? "bypass" : lookup.Answer is null ? "miss" : semanticHit ? "semantic_hit" : "hit");
        if (lookup.Answer is { } answer)
        {
            await foreach (var chunk in Replay(call, answer, key))
            {
                yield return chunk;
            }

            yield break;
        }

        var info = new CallInfo(Cache: looksUp ? CacheOutcome.Miss : CacheOutcome.Bypass, CacheKey: key);
        var deltas = new List<string>();
        var stored = false;
        try
        {
            await foreach (var chunk in next(call, cancellationToken))
            {
                var passing = info is null ? chunk : chunk.With(i => i.Merge(info));
                info = null;
                if (passing is DeltaChunk { Text: var text })
                {
                    deltas.Add(text);
                }
                else if (passing is FinalChunk { Result: var result })
                {
                    stored = await Store(entry, leaseId, tenant, key, probe, new CachedAnswer(deltas, result, clock.GetUtcNow() + policy.Ttl, request.Model, probe?.Scope));
                }

                yield return passing;
            }
        }
        finally
        {
            if (lookup.Leads && !stored)
            {
                await Forget(entry.Abandon(leaseId), key); // failed, cut or abandoned: never stored, and a waiter leads next
            }
        }
    }

    /// <summary>The exact entry (or the lead of its fill), then a semantic match; a cache that cannot be reached is a miss.</summary>
    private async Task<(CacheLookup Lookup, SemanticProbe? Probe, bool SemanticHit)> Find(
        ICacheEntryGrain entry, string leaseId, string tenant, ModelCall call, CachePolicy policy, CancellationToken cancellationToken)
    {
        var lookup = new CacheLookup(null, false);
        try
        {
            lookup = await entry.Find(leaseId);
            if (lookup.Answer is not null || policy.Mode != CacheMode.Semantic || SemanticCache.Question(call.Request) is not { } question)
            {
                return (lookup, null, false);
            }

            var (probe, similar) = await semantic.Find(tenant, call, policy, question, cancellationToken);
            if (similar is null)
            {
                return (lookup, probe, false);
            }

            if (lookup.Leads)
            {
                await entry.Abandon(leaseId);
            }

            return (new CacheLookup(similar, false), null, true);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            LogLookupFailed(logger, exception);
            return (lookup, null, false);
        }
    }

    /// <summary>A complete answer, kept under its key (and its question, for a semantic route); whether it was.</summary>
    private async Task<bool> Store(ICacheEntryGrain entry, string leaseId, string tenant, string key, SemanticProbe? probe, CachedAnswer answer)
    {
        try
        {
            await entry.Store(leaseId, answer with { Result = answer.Result with { OutputItems = null } });
            if (probe is not null)
            {
                await semantic.Remember(tenant, probe, key);
            }

            return true;
        }
        catch (Exception exception)
        {
            LogStoreFailed(logger, exception);
            return false;
        }
    }

    /// <summary>
    /// A hit: admitted as a request (rate and concurrency limits apply; no tokens reserved), settled as a hit that saved
    /// the stored answer's cost, then the answer's pieces as the model streamed them and its result, at no cost.
    /// </summary>
    private async IAsyncEnumerable<CompletionChunk> Replay(ModelCall call, CachedAnswer answer, string key)
    {
        var request = call.Request;
        var info = new CallInfo(Cache: CacheOutcome.Hit, CacheKey: key);
        if (request.Caller is { } caller)
        {
            var quota = grains.Reference<ITenantQuotaGrain>(caller.Tenant);
            var leaseId = Ids.Opaque();
            if (caller.NeedsAdmission(request.EndUser))
            {
                var admitted = await quota.Admit(new AdmissionRequest(leaseId, caller, request.EndUser, 0, 0));
                if (!admitted.IsSuccess)
                {
                    yield return new ErrorChunk(admitted.Error) { Info = info };
                    yield break;
                }

                info = info with { Admission = admitted.Value };
            }

            await quota.SettleCacheHit(leaseId, caller, request.EndUser, request.Model, answer.Result.CostUsd);
        }

        if (request.StreamDeltas)
        {
            IReadOnlyList<string> pieces = answer.Deltas.Count > 0 || answer.Result.Text.Length == 0 ? answer.Deltas : [answer.Result.Text];
            foreach (var piece in pieces)
            {
                yield return new DeltaChunk(piece) { Info = info };
                info = null;
            }
        }

        yield return new FinalChunk(answer.Result with { CostUsd = 0 }) { Info = info };
    }

    private async Task Forget(Task abandoning, string key)
    {
        try
        {
            await abandoning;
        }
        catch (Exception exception)
        {
            LogAbandonFailed(logger, exception, key);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The response cache could not be read; the call goes on as a miss")]
    private static partial void LogLookupFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A complete answer could not be stored in the response cache")]
    private static partial void LogStoreFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The lead of cache entry {Key} could not be released; its waiters go on when their wait ends")]
    private static partial void LogAbandonFailed(ILogger logger, Exception exception, string key);
}
