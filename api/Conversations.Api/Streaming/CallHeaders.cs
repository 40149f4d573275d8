using System.Globalization;
using Conversations.Tenancy;
using Microsoft.AspNetCore.Http;

namespace Conversations.Api.Streaming;

/// <summary>
/// The headers a model call answers with: OpenAI's <c>x-ratelimit-*</c> (from the window that
/// constrains the caller most) and the deployment that served it, after how many attempts.
/// </summary>
public static class CallHeaders
{
    public const string Deployment = "x-conversations-deployment";
    public const string Attempts = "x-conversations-attempts";
    public const string RouteVersion = "x-conversations-route-version";

    public static void Write(HttpResponse response, ChunkReader reader) => Write(response, reader.Admission, reader.Route);

    public static void Write(HttpResponse response, Admission? admission, Conversations.Routing.ServedBy? served)
    {
        Write(response, admission);
        if (served is { } route)
        {
            response.Headers[Deployment] = route.Deployment;
            response.Headers[Attempts] = route.Attempts.ToString(CultureInfo.InvariantCulture);
            response.Headers[RouteVersion] = route.RouteVersion.ToString(CultureInfo.InvariantCulture);
        }
    }

    private static void Write(HttpResponse response, Admission? admission)
    {
        Write(response, "requests", admission?.Requests);
        Write(response, "tokens", admission?.Tokens);
    }

    private static void Write(HttpResponse response, string kind, RateLimitStatus? status)
    {
        if (status is null)
        {
            return;
        }

        response.Headers[$"x-ratelimit-limit-{kind}"] = status.Limit.ToString(CultureInfo.InvariantCulture);
        response.Headers[$"x-ratelimit-remaining-{kind}"] = status.Remaining.ToString(CultureInfo.InvariantCulture);
        response.Headers[$"x-ratelimit-reset-{kind}"] = Duration(status.ResetAfter);
    }

    /// <summary>OpenAI's duration format: <c>20ms</c>, <c>1.5s</c>, <c>6m0s</c>.</summary>
    public static string Duration(TimeSpan span) => span switch
    {
        { TotalSeconds: < 1 } => string.Create(CultureInfo.InvariantCulture, $"{Math.Max(0, (int)span.TotalMilliseconds)}ms"),
        { TotalMinutes: < 1 } => string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0.###}s"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalMinutes}m{span.Seconds}s"),
    };
}
