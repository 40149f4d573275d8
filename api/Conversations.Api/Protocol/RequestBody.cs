using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Conversations.Api;

/// <summary>
/// Reads a JSON request body, turning every way it can be wrong (not JSON, bad UTF-8, wrong types,
/// too large) into a 4xx <see cref="GatewayError"/> that names the offending field.
/// </summary>
public static class RequestBody
{
    /// <summary>A body that may be left out entirely (no content at all): <paramref name="empty"/> then.</summary>
    public static async Task<Result<T>> ReadOptionalAsync<T>(HttpRequest request, T empty) where T : class =>
        request.ContentLength == 0 || (request.ContentLength is null && request.ContentType is null && request.Headers.TransferEncoding.Count == 0)
            ? empty
            : await ReadAsync<T>(request);

    public static async Task<Result<T>> ReadAsync<T>(HttpRequest request) where T : class
    {
        try
        {
            var value = await JsonSerializer.DeserializeAsync<T>(request.Body, ApiJson.Options, request.HttpContext.RequestAborted);
            return value is null ? GatewayError.Invalid("The request body must be a JSON object.") : value;
        }
        catch (JsonException exception)
        {
            var param = exception.Path is { Length: > 2 } path ? path.TrimStart('$', '.') : null;
            return GatewayError.Invalid(
                "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. "
                + "The OpenAI API expects a JSON payload.)" + (param is null ? string.Empty : $" The problem is at '{param}'."),
                param,
                "invalid_json");
        }
        catch (BadHttpRequestException exception) when (exception.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return new GatewayError(413, "invalid_request_error", "request_too_large", "The request body is too large.");
        }
    }
}
