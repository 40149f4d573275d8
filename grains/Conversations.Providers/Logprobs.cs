using System.Globalization;
using System.Text;
using Microsoft.Extensions.AI;
using OpenAI.Chat;

namespace Conversations.Providers;

/// <summary>
/// Log probabilities through Microsoft.Extensions.AI, which has no field for them: asked for in the OpenAI client's own
/// options (<see cref="ChatCompletionOptions.IncludeLogProbabilities"/>) and read from its raw answers. The simulated
/// model reads the same options and hands its own over under <see cref="Key"/>. A provider that has none (Anthropic)
/// ignores the ask, and its answers carry none.
/// </summary>
public static class Logprobs
{
    /// <summary>Where an in-process client puts an update's or a response's log probabilities, in its additional properties.</summary>
    public const string Key = "conversations.logprobs";

    /// <summary>Asks for log probabilities with <paramref name="top"/> alternatives per token; nothing when it is <c>null</c>.</summary>
    public static void Ask(ChatOptions options, int? top)
    {
        if (top is not { } count)
        {
            return;
        }

        var inner = options.RawRepresentationFactory; // a JSON schema's exact format rides on the same options
        options.RawRepresentationFactory = client =>
        {
            var raw = inner?.Invoke(client) as ChatCompletionOptions ?? new ChatCompletionOptions();
            raw.IncludeLogProbabilities = true;
            raw.TopLogProbabilityCount = count;
            return raw;
        };
    }

    /// <summary>How many alternatives <paramref name="options"/> ask for, as an in-process client reads them; <c>null</c>: none.</summary>
    public static int? Asked(ChatOptions? options, IChatClient client) =>
        options?.RawRepresentationFactory?.Invoke(client) is ChatCompletionOptions { IncludeLogProbabilities: true } raw ? raw.TopLogProbabilityCount ?? 0 : null;

    /// <summary>A whole answer's log probabilities; <c>null</c> when it has none.</summary>
    public static IReadOnlyList<TokenLogprob>? Of(ChatResponse response) => response.RawRepresentation switch
    {
        ChatCompletion { ContentTokenLogProbabilities.Count: > 0 } completion => [.. completion.ContentTokenLogProbabilities.Select(From)],
        _ => response.AdditionalProperties?.TryGetValue(Key, out var value) == true ? value as IReadOnlyList<TokenLogprob> : null,
    };

    /// <summary>A streamed update's log probabilities; <c>null</c> when it has none.</summary>
    public static IReadOnlyList<TokenLogprob>? Of(ChatResponseUpdate update) => update.RawRepresentation switch
    {
        StreamingChatCompletionUpdate { ContentTokenLogProbabilities.Count: > 0 } raw => [.. raw.ContentTokenLogProbabilities.Select(From)],
        _ => update.AdditionalProperties?.TryGetValue(Key, out var value) == true ? value as IReadOnlyList<TokenLogprob> : null,
    };

    /// <summary>
    /// The simulated model's log probability for <paramref name="token"/>: a stable function of its text, with
    /// <paramref name="top"/> alternatives (the token itself first, then <c>alt1</c>, <c>alt2</c>… each less likely).
    /// </summary>
    public static TokenLogprob Simulated(string token, int top)
    {
        var hash = 2166136261u; // FNV-1a, stable across processes (string hashes are not)
        foreach (var c in token)
        {
            hash = (hash ^ c) * 16777619u;
        }

        var logprob = -(hash % 1000) / 1000.0;
        var self = new TokenLogprob(token, logprob, Encoding.UTF8.GetBytes(token));
        return self with { Top = [.. Enumerable.Range(0, top).Select(k => k == 0 ? self : new TokenLogprob($"alt{k}", logprob - k, Encoding.UTF8.GetBytes($"alt{k}")))] };
    }

    private static TokenLogprob From(ChatTokenLogProbabilityDetails token) =>
        new(token.Token, Widen(token.LogProbability), token.Utf8Bytes?.ToArray(),
            [.. token.TopLogProbabilities.Select(top => new TokenLogprob(top.Token, Widen(top.LogProbability), top.Utf8Bytes?.ToArray()))]);

    /// <summary>The SDK's <see cref="float"/> as the number the provider wrote (-0.25, not -0.2500000059604645).</summary>
    private static double Widen(float value) => double.Parse(value.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
}
