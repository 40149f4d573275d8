using System.ClientModel;
using System.Globalization;
using System.Text.Json;
using Conversations.Providers;
using Conversations.Routing;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains.Routing;

/// <summary>
/// Turns what a provider threw into an <see cref="AttemptFailure"/>: the error the client would see,
/// how the route's health counts it, and whether another attempt can help. Follows the route's
/// <see cref="RouteConfig.FallbackOnStatus"/> rules; messages never carry provider text that could
/// echo a credential.
/// </summary>
internal static partial class ProviderFailures
{
    /// <summary>The exception's type, not its message: provider error text can echo a (masked) credential.</summary>
    [LoggerMessage(Level = LogLevel.Warning, Message = "Model deployment {Deployment} failed ({ErrorType}, upstream status {UpstreamStatus}); answering {Status}")]
    public static partial void Log(ILogger logger, string deployment, string errorType, int? upstreamStatus, int status);

    public static AttemptFailure Classify(Exception exception, RouteConfig route, bool firstTokenTimedOut, bool totalTimedOut)
    {
        if (totalTimedOut)
        {
            return new(Timeout("The model call did not finish within the route's total timeout."), FailureKind.Final, AttemptOutcome.Failed);
        }

        if (firstTokenTimedOut)
        {
            return new(Timeout("The model provider did not answer within the route's first-token (or attempt) timeout."), FailureKind.TryElsewhere, AttemptOutcome.Failed);
        }

        return exception switch
        {
            ProviderException provider => FromStatus(provider.Status, provider.Code, provider.RetryAfter, provider.Message, route) with { UpstreamStatus = provider.Status },
            ClientResultException client when client.Status == 0 => Unreachable(),
            ClientResultException client => FromStatus(client.Status, ErrorCode(client), RetryAfter(client), "The model provider returned an error.", route) with { UpstreamStatus = client.Status },
            HttpRequestException or IOException => Unreachable(),
            OperationCanceledException => new(Timeout("The model provider did not answer in time."), FailureKind.TryElsewhere, AttemptOutcome.Failed),
            _ => new(GatewayError.Upstream(502, "The model provider failed."), FailureKind.Transient, AttemptOutcome.Failed),
        };
    }

    /// <summary>A stream that ended without a finish reason was cut, whatever the transport said.</summary>
    public static AttemptFailure Truncated() =>
        new(GatewayError.Upstream(502, "The model provider ended the stream before the answer was complete."), FailureKind.Transient, AttemptOutcome.Failed);

    private static AttemptFailure FromStatus(int status, string? code, TimeSpan? retryAfter, string message, RouteConfig route)
    {
        if (code == ProviderException.ContextLengthExceeded)
        {
            return new(GatewayError.Invalid("The input does not fit the model's context window.", "messages", ProviderException.ContextLengthExceeded),
                FailureKind.ContextLength, AttemptOutcome.Rejected);
        }

        if (status is 401 or 403)
        {
            // The gateway's own credential was refused: that deployment is broken, the request is not.
            return new(GatewayError.Upstream(status, "The model provider refused the gateway's credentials."), FailureKind.Elsewhere, AttemptOutcome.Failed);
        }

        var error = GatewayError.Upstream(status, status >= 500 ? "The model provider failed." : message) with { RetryAfter = retryAfter };
        var fallback = route.FallbackStatuses.Contains(status);
        return status switch
        {
            429 => new(error, fallback ? FailureKind.TryElsewhere : FailureKind.Final, AttemptOutcome.Throttled, retryAfter),
            _ when fallback => new(error, FailureKind.Transient, AttemptOutcome.Failed, retryAfter),
            >= 500 => new(error, FailureKind.Final, AttemptOutcome.Failed, retryAfter),
            _ => new(error, FailureKind.Final, AttemptOutcome.Rejected),
        };
    }

    private static AttemptFailure Unreachable() =>
        new(GatewayError.Upstream(502, "The model provider could not be reached."), FailureKind.Transient, AttemptOutcome.Failed);

    private static GatewayError Timeout(string message) => new(504, "upstream_error", "upstream_timeout", message);

    private static TimeSpan? RetryAfter(ClientResultException exception)
    {
        var headers = exception.GetRawResponse()?.Headers;
        if (headers is null)
        {
            return null;
        }

        if (headers.TryGetValue("retry-after-ms", out var ms) && double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out var millis) && millis >= 0)
        {
            return TimeSpan.FromMilliseconds(millis);
        }

        if (headers.TryGetValue("retry-after", out var value))
        {
            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
            {
                return TimeSpan.FromSeconds(seconds);
            }

            if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
            {
                var wait = date - DateTimeOffset.UtcNow;
                return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
            }
        }

        return null;
    }

    /// <summary>OpenAI-style <c>{"error":{"code":…}}</c> from the error body, when there is one.</summary>
    private static string? ErrorCode(ClientResultException exception)
    {
        try
        {
            var content = exception.GetRawResponse()?.Content;
            if (content is null || content.ToMemory().IsEmpty)
            {
                return null;
            }

            using var body = JsonDocument.Parse(content.ToMemory());
            return body.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object
                   && error.TryGetProperty("code", out var code) && code.ValueKind == JsonValueKind.String
                ? code.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
