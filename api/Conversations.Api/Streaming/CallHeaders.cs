using System.Globalization;
using Conversations.Tenancy;
using Microsoft.AspNetCore.Http;

namespace Conversations.Api.Streaming;

/// <summary>
/// The headers a model call answers with: OpenAI's <c>x-ratelimit-*</c> (from the window that
/// constrains the caller most), the deployment that served it, after how many attempts, and
/// <c>Server-Timing: upstream;dur=…</c>, the milliseconds spent in HTTP exchanges with upstreams
/// (for a stream, until the upstream began answering), so a client can tell the gateway's time from the model's.
/// </summary>
public static class CallHeaders
{
    public const string Deployment = "x-conversations-deployment";
    public const string Attempts = "x-conversations-attempts";
    public const string RouteVersion = "x-conversations-route-version";
    public const string ServerTiming = "Server-Timing";
    public const string Cache = "x-conversations-cache";
    public const string CacheKey = "x-conversations-cache-key";

    /// <summary>What the guardrails found before the answer began (kinds and actions, never values): <c>pii.email=mask*2</c>.</summary>
    public const string Guardrails = "x-conversations-guardrails";

    /// <summary>A model call's headers, with what the response cache did (<c>bypass</c> when its route does not cache) and what the guardrails found.</summary>
    public static void Write(HttpResponse response, ChunkReader reader)
    {
        Write(response, reader.Info.Admission, reader.Info.Route);
        response.Headers[Cache] = reader.Info.Cache switch
        {
            Caching.CacheOutcome.Hit => "hit",
            Caching.CacheOutcome.Miss => "miss",
            _ => "bypass",
        };
        if (reader.Info.CacheKey is { } key)
        {
            response.Headers[CacheKey] = key;
        }

        if (reader.Info.Guardrails is { } found)
        {
            response.Headers[Guardrails] = found.Describe();
        }
    }

    public static void Write(HttpResponse response, Admission? admission, Conversations.Routing.ServedBy? served)
    {
        Write(response, admission);
        if (served is { } route)
        {
            response.Headers[Deployment] = route.Deployment;
            response.Headers[Attempts] = route.Attempts.ToString(CultureInfo.InvariantCulture);
            response.Headers[RouteVersion] = route.RouteVersion.ToString(CultureInfo.InvariantCulture);
        }

        if (served?.Upstream is { } upstream)
        {
            response.Headers[ServerTiming] = string.Create(CultureInfo.InvariantCulture, $"upstream;dur={upstream.TotalMilliseconds:0.###}");
            Hosting.GatewayOverhead.Track(response.HttpContext, served.Deployment, upstream);
        }
    }

    private static void Write(HttpResponse response, Admission? admission)
    {
        Write(response, RequestLimits, admission?.Requests);
        Write(response, TokenLimits, admission?.Tokens);
    }

    private static readonly (string Limit, string Remaining, string Reset) RequestLimits =
        ("x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests");

    private static readonly (string Limit, string Remaining, string Reset) TokenLimits =
        ("x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens");

    private static void Write(HttpResponse response, (string Limit, string Remaining, string Reset) names, RateLimitStatus? status)
    {
        if (status is null)
        {
            return;
        }

        response.Headers[names.Limit] = status.Limit.ToString(CultureInfo.InvariantCulture);
        response.Headers[names.Remaining] = status.Remaining.ToString(CultureInfo.InvariantCulture);
        response.Headers[names.Reset] = Duration(status.ResetAfter);
    }

    /// <summary>OpenAI's duration format: <c>20ms</c>, <c>1.5s</c>, <c>6m0s</c>.</summary>
    public static string Duration(TimeSpan span) => span switch
    {
        { TotalSeconds: < 1 } => string.Create(CultureInfo.InvariantCulture, $"{Math.Max(0, (int)span.TotalMilliseconds)}ms"),
        { TotalMinutes: < 1 } => string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0.###}s"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalMinutes}m{span.Seconds}s"),
    };
}
