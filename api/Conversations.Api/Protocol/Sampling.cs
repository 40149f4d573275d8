namespace Conversations.Api;

/// <summary>Ranges OpenAI enforces on sampling parameters.</summary>
public static class Sampling
{
    /// <summary>Larger than any model's output; bounds the reservation a request can make against quotas.</summary>
    public const int MaxOutputTokens = 1_000_000;

    public static GatewayError? Validate(float? temperature, float? topP, int? maxOutputTokens, string maxParam)
    {
        if (temperature is < 0 or > 2 || (temperature is { } t && float.IsNaN(t)))
        {
            return GatewayError.Invalid("Invalid 'temperature': expected a number between 0 and 2.", "temperature", "invalid_value");
        }

        if (topP is < 0 or > 1 || (topP is { } p && float.IsNaN(p)))
        {
            return GatewayError.Invalid("Invalid 'top_p': expected a number between 0 and 1.", "top_p", "invalid_value");
        }

        if (maxOutputTokens is < 1 or > MaxOutputTokens)
        {
            return GatewayError.Invalid($"Invalid '{maxParam}': expected an integer from 1 to {MaxOutputTokens}.", maxParam, "invalid_value");
        }

        return null;
    }
}
