using System.Text.Json.Serialization;

namespace Conversations.Api;

/// <summary>
/// An output token's log probability as OpenAI writes it, in chat choices and in Responses' <c>output_text</c> parts and
/// deltas: the token, its log probability, its UTF-8 bytes (as integers; empty when the provider gave none) and the
/// likeliest tokens at its position.
/// </summary>
public sealed record TokenLogprobJson(string Token, double Logprob, IReadOnlyList<int> Bytes, IReadOnlyList<TopLogprobJson> TopLogprobs)
{
    public static IReadOnlyList<TokenLogprobJson> From(IReadOnlyList<TokenLogprob> tokens) =>
        [.. tokens.Select(t => new TokenLogprobJson(t.Token, t.Logprob, IntegersOf(t), [.. (t.Top ?? []).Select(TopLogprobJson.From)]))];

    internal static IReadOnlyList<int> IntegersOf(TokenLogprob token) => [.. (token.Bytes ?? []).Select(b => (int)b)];
}

/// <summary>One of the likeliest tokens at a position (<c>top_logprobs[]</c>).</summary>
public sealed record TopLogprobJson(string Token, double Logprob, IReadOnlyList<int> Bytes)
{
    public static TopLogprobJson From(TokenLogprob token) => new(token.Token, token.Logprob, TokenLogprobJson.IntegersOf(token));
}

/// <summary>A chat choice's <c>logprobs</c>: its content's tokens (the gateway has no refusal tokens).</summary>
public sealed record ChatLogprobsJson(IReadOnlyList<TokenLogprobJson> Content)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public object? Refusal => null;

    /// <summary>The choice's log probabilities, or <c>null</c> when none were asked for or the provider gave none.</summary>
    public static ChatLogprobsJson? From(IReadOnlyList<TokenLogprob>? tokens) => tokens is null ? null : new(TokenLogprobJson.From(tokens));
}
