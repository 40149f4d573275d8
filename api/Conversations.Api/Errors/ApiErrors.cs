using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Conversations.Api.Errors;

/// <summary>
/// Maps <see cref="GatewayError"/> values to HTTP results in OpenAI's error shape, in one place (Anthropic's on its
/// endpoints, <see cref="AnthropicErrors"/>).
/// </summary>
public static class ApiErrors
{
    /// <summary>How long clients should wait before retrying a 503 (cluster failover, storage outage).</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(2);

    public static IResult ToResult(this GatewayError error) => new ErrorResult(error);

    public static OpenAIErrorBody ToBody(this GatewayError error) =>
        new(new OpenAIError(error.Message, error.Type, error.Param, error.Code));

    public static GatewayError Unavailable(string message) =>
        new(503, "server_error", "service_unavailable", message);

    public static GatewayError Forbidden(string message) => GatewayError.Forbidden(message);

    public static GatewayError Internal() =>
        new(500, "server_error", "internal_error", "The server had an error while processing your request.");

    /// <summary>Writes the error; statuses that invite a retry carry <c>retry-after</c>.</summary>
    public static Task WriteAsync(HttpContext context, GatewayError error)
    {
        context.Response.StatusCode = error.Status;
        if (error.Status is 429 or 503)
        {
            var wait = error.RetryAfter ?? RetryAfter;
            context.Response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            context.Response.Headers["retry-after-ms"] = Math.Max(1, (long)Math.Ceiling(wait.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture);
        }

        return AnthropicErrors.Applies(context)
            ? AnthropicErrors.WriteAsync(context, error)
            : context.Response.WriteAsJsonAsync(error.ToBody(), ApiJson.Options, context.RequestAborted);
    }

    private sealed class ErrorResult(GatewayError error) : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => error.Status;

        public Task ExecuteAsync(HttpContext httpContext) => WriteAsync(httpContext, error);
    }
}
