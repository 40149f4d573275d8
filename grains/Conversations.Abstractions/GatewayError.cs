namespace Conversations;

/// <summary>
/// A failure that crosses a grain boundary as data rather than as an exception, so that the API
/// can map it to OpenAI's error shape with the right status code.
/// </summary>
[GenerateSerializer, Immutable, Alias("conv.GatewayError")]
public sealed record GatewayError(
    [property: Id(0)] int Status,
    [property: Id(1)] string Type,
    [property: Id(2)] string? Code,
    [property: Id(3)] string Message,
    [property: Id(4)] string? Param = null,
    [property: Id(5)] TimeSpan? RetryAfter = null)
{
    public static GatewayError StorageUnavailable { get; } =
        new(503, "server_error", "storage_unavailable", "Storage is briefly unavailable; retry the request.");

    public static GatewayError NotFound(string what, string id, string? param = null) =>
        new(404, "invalid_request_error", "not_found", $"No {what} found with id '{id}'.", param);

    public static GatewayError ModelNotFound(string model) => new(
        404, "invalid_request_error", "model_not_found", $"The model '{model}' does not exist or you do not have access to it.", "model");

    public static GatewayError Invalid(string message, string? param = null, string? code = null) =>
        new(400, "invalid_request_error", code, message, param);

    public static GatewayError IdempotencyKeyReused { get; } = new(
        422, "invalid_request_error", "idempotency_key_reused", "This Idempotency-Key was used with a different request body.", "Idempotency-Key");

    public static GatewayError Forbidden(string message, string? param = null) =>
        new(403, "invalid_request_error", "insufficient_permissions", message, param);

    public static GatewayError Conflict(string message, string? code = null) =>
        new(409, "invalid_request_error", code, message);

    /// <summary>
    /// An upstream failure as the client should see it: 429 and 4xx request errors pass through; the
    /// gateway's own credential problems (401, 403), server errors and anything that is not an error
    /// status at all (a redirect, which the gateway does not follow) are a bad gateway (502).
    /// </summary>
    public static GatewayError Upstream(int status, string message) =>
        new(status is >= 500 or < 400 or 401 or 403 ? 502 : status, status == 429 ? "rate_limit_error" : "upstream_error", "upstream_error", message);
}
