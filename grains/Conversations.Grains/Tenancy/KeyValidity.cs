using Conversations.Tenancy;

namespace Conversations.Grains.Tenancy;

/// <summary>Whether a presented secret's hash is valid for a key at a moment, and until when.</summary>
public static class KeyValidity
{
    public static GatewayError Invalid { get; } = Refusal("invalid_api_key", "Incorrect API key provided.");

    /// <summary>Until when the answer holds (null: until revoked), or why the key is refused.</summary>
    public static Result<DateTimeOffset?> Check(TenantSettings tenant, StoredKey key, string secretHash, DateTimeOffset now)
    {
        if (tenant.Disabled)
        {
            return Refusal("tenant_disabled", "This API key's tenant is disabled.");
        }

        var status = key.Info.Status(now);
        if (status != "active")
        {
            return Refusal($"key_{status}", $"This API key is {status}.");
        }

        if (secretHash == key.SecretHash)
        {
            return key.Info.ExpiresAt;
        }

        // The secret replaced by a rotation works until its grace period ends.
        if (secretHash == key.PreviousSecretHash && key.Info.PreviousSecretValidUntil is { } graceEnd && graceEnd > now)
        {
            return key.Info.ExpiresAt is { } expiry && expiry < graceEnd ? expiry : graceEnd;
        }

        return Invalid;
    }

    private static GatewayError Refusal(string code, string message) => new(401, "invalid_request_error", code, message);
}
