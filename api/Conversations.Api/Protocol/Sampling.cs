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

    /// <summary>
    /// The alternatives per token a request asks for with its log probabilities (<c>null</c>: none asked for), or the error
    /// OpenAI answers: <c>top_logprobs</c> out of 0-20, or given without <c>logprobs: true</c> when the request has that switch.
    /// </summary>
    public static Result<int?> Logprobs(bool asked, int? top, bool needsSwitch)
    {
        if (top is < 0 or > TokenLogprob.MaxTop)
        {
            return GatewayError.Invalid($"Invalid 'top_logprobs': expected an integer from 0 to {TokenLogprob.MaxTop}.", "top_logprobs", "invalid_value");
        }

        if (top is not null && needsSwitch && !asked)
        {
            return GatewayError.Invalid("Invalid 'top_logprobs': 'logprobs' must be true when 'top_logprobs' is set.", "top_logprobs", "invalid_value");
        }

        return asked ? top ?? 0 : (int?)null;
    }
}
