using System.Runtime.InteropServices;
using System.Text.Json;

namespace Conversations.Api;

/// <summary>OpenAI's embeddings request: <c>input</c> is a string or an array of strings.</summary>
public sealed record EmbeddingCreateJson(string? Model, JsonElement? Input, string? EncodingFormat, int? Dimensions, string? User)
{
    public const int MaxInputs = 2048;
    public const int MaxInputCharacters = 100_000;

    public Result<IReadOnlyList<string>> ReadInput()
    {
        List<string> inputs = Input switch
        {
            { ValueKind: JsonValueKind.String } one => [one.GetString()!],
            { ValueKind: JsonValueKind.Array } many when many.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String) => [.. many.EnumerateArray().Select(e => e.GetString()!)],
            null => [],
            _ => [null!],
        };
        if (Input is null)
        {
            return GatewayError.Invalid("Missing required parameter: 'input'.", "input", "missing_required_parameter");
        }

        if (inputs.Contains(null!))
        {
            return GatewayError.Invalid("Invalid 'input': expected a string or an array of strings (token arrays are not supported).", "input", "invalid_type");
        }

        return inputs.Count is 0 or > MaxInputs || inputs.Any(i => i.Length is 0 or > MaxInputCharacters)
            ? GatewayError.Invalid($"Invalid 'input': 1 to {MaxInputs} non-empty strings of at most {MaxInputCharacters} characters.", "input", "invalid_value")
            : inputs;
    }
}

public sealed record EmbeddingListJson(IReadOnlyList<EmbeddingJson> Data, string Model, EmbeddingUsageJson Usage)
{
    public string Object => "list";

    /// <summary><paramref name="base64"/>: each vector as the base64 of its little-endian float32 bytes, as OpenAI sends it.</summary>
    public static EmbeddingListJson From(EmbeddingResult result, bool base64) => new(
        [.. result.Vectors.Select((vector, index) => new EmbeddingJson(index, base64 ? Convert.ToBase64String(MemoryMarshal.AsBytes(vector.AsSpan())) : vector))],
        result.Model,
        new EmbeddingUsageJson(result.PromptTokens, result.PromptTokens));
}

public sealed record EmbeddingJson(int Index, object Embedding)
{
    public string Object => "embedding";
}

public sealed record EmbeddingUsageJson(int PromptTokens, int TotalTokens);
