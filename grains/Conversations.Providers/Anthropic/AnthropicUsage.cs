using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Conversations.Providers.Anthropic;

/// <summary>
/// Token counts as Anthropic reports them: the input split into uncached, cache-read and cache-written
/// parts, and the output as a running total (a stream's <c>message_delta</c> repeats the whole count).
/// </summary>
internal sealed class AnthropicUsage
{
    private long _input;
    private long _cacheRead;
    private long _cacheCreation;
    private long _output;

    /// <summary>Takes every count the given <c>usage</c> object carries; counts it omits keep their value.</summary>
    public void Update(JsonElement usage)
    {
        Take(usage, "input_tokens", ref _input);
        Take(usage, "cache_read_input_tokens", ref _cacheRead);
        Take(usage, "cache_creation_input_tokens", ref _cacheCreation);
        Take(usage, "output_tokens", ref _output);
    }

    public UsageDetails ToDetails()
    {
        var input = _input + _cacheRead + _cacheCreation;
        return new UsageDetails
        {
            InputTokenCount = input,
            CachedInputTokenCount = _cacheRead,
            OutputTokenCount = _output,
            TotalTokenCount = input + _output,
        };
    }

    private static void Take(JsonElement usage, string name, ref long count)
    {
        if (usage.ValueKind == JsonValueKind.Object && usage.TryGetProperty(name, out var value)
            && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number))
        {
            count = number;
        }
    }
}
