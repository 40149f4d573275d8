using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;

namespace Conversations.Api;

/// <summary>Reads <c>Idempotency-Key</c> and fingerprints the request body it applies to.</summary>
public static class IdempotencyHeader
{
    public const string Name = "Idempotency-Key";
    private const int MaxLength = 255;

    /// <summary>The key and body fingerprint, null without the header; the body stays readable.</summary>
    public static async Task<Result<Idempotency?>> ReadAsync(HttpRequest request)
    {
        if (request.Headers[Name].FirstOrDefault() is not { } key)
        {
            return (Idempotency?)null;
        }

        if (key.Length is 0 or > MaxLength)
        {
            return GatewayError.Invalid($"Invalid '{Name}': expected 1 to {MaxLength} characters.", Name, "invalid_value");
        }

        request.EnableBuffering();
        var hash = await SHA256.HashDataAsync(request.Body, request.HttpContext.RequestAborted);
        request.Body.Position = 0;
        return new Idempotency(key, Convert.ToHexString(hash));
    }
}
