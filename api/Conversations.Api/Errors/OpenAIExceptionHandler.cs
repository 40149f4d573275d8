using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Conversations.Api.Errors;

/// <summary>
/// The last line of defence: any exception that escapes a handler is answered in OpenAI's error
/// shape, as a retriable 503 when the cluster is recovering and a bare 500 otherwise. No stack
/// trace ever reaches a client.
/// </summary>
public sealed partial class OpenAIExceptionHandler(ILogger<OpenAIExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (httpContext.Response.HasStarted)
        {
            return false;
        }

        var error = exception switch
        {
            BadHttpRequestException bad when bad.StatusCode == StatusCodes.Status413PayloadTooLarge =>
                new GatewayError(413, "invalid_request_error", "request_too_large", "The request body is too large."),
            BadHttpRequestException bad => GatewayError.Invalid(bad.Message) with { Status = bad.StatusCode },
            _ => ClusterFailures.ToGatewayError(exception),
        };
        if (error.Status >= 500)
        {
            LogUnhandled(exception, httpContext.Request.Method, httpContext.Request.Path);
        }

        await ApiErrors.WriteAsync(httpContext, error);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Request {Method} {Path} failed")]
    private partial void LogUnhandled(Exception exception, string method, string path);
}
