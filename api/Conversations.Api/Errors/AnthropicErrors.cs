using Microsoft.AspNetCore.Http;

namespace Conversations.Api.Errors;

/// <summary>
/// Errors on the Anthropic endpoints (<c>/v1/messages…</c>) in Anthropic's shape and statuses. The gateway's errors are
/// the same values as everywhere else; only their wire form differs, so <see cref="ApiErrors"/> asks this type first.
/// A retriable unavailability (503 for OpenAI clients) is Anthropic's 529 <c>overloaded_error</c>, which its SDKs retry.
/// </summary>
public static class AnthropicErrors
{
    public const string PathPrefix = "/v1/messages";

    /// <summary>Whether the request is one of the Anthropic endpoints, so its errors take Anthropic's shape.</summary>
    public static bool Applies(HttpContext context) => context.Request.Path.StartsWithSegments(PathPrefix, StringComparison.Ordinal);

    public static int Status(GatewayError error) => error.Status == StatusCodes.Status503ServiceUnavailable ? 529 : error.Status;

    public static AnthropicErrorBody Body(GatewayError error) => new(new AnthropicError(Type(Status(error)), error.Message));

    /// <summary>Anthropic's error type for a status (its documented table; other 4xx are request errors, other 5xx api errors).</summary>
    public static string Type(int status) => status switch
    {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 => "overloaded_error",
        >= 500 => "api_error",
        _ => "invalid_request_error",
    };

    internal static Task WriteAsync(HttpContext context, GatewayError error)
    {
        context.Response.StatusCode = Status(error);
        return context.Response.WriteAsJsonAsync(Body(error), ApiJson.Options, context.RequestAborted);
    }
}
