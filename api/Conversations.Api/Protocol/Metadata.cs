namespace Conversations.Api;

/// <summary>OpenAI's limits on <c>metadata</c>: at most 16 pairs, keys up to 64 and values up to 512 characters.</summary>
public static class Metadata
{
    public static readonly IReadOnlyDictionary<string, string> Empty = new Dictionary<string, string>(StringComparer.Ordinal);

    public static GatewayError? Validate(Dictionary<string, string>? metadata, string param = "metadata")
    {
        if (metadata is null)
        {
            return null;
        }

        if (metadata.Count > 16)
        {
            return GatewayError.Invalid("Invalid 'metadata': at most 16 key-value pairs are allowed.", param, "invalid_metadata");
        }

        foreach (var (key, value) in metadata)
        {
            if (key.Length > 64 || value is null || value.Length > 512)
            {
                return GatewayError.Invalid($"Invalid 'metadata.{key}': keys are at most 64 characters and values at most 512.", $"{param}.{key}", "invalid_metadata");
            }
        }

        return null;
    }
}
