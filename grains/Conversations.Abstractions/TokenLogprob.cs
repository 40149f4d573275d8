namespace Conversations;

/// <summary>
/// One output token's log probability as the model reported it (OpenAI's <c>logprobs</c>): the token, its UTF-8
/// <see cref="Bytes"/> when the provider gave them, and the likeliest tokens at its position (<see cref="Top"/>, whose own
/// <see cref="Top"/> is empty).
/// </summary>
[GenerateSerializer, Immutable, Alias("conv.TokenLogprob")]
public sealed record TokenLogprob(
    [property: Id(0)] string Token,
    [property: Id(1)] double Logprob,
    [property: Id(2)] byte[]? Bytes = null,
    [property: Id(3)] IReadOnlyList<TokenLogprob>? Top = null)
{
    /// <summary>The most alternatives per token a request may ask for (<c>top_logprobs</c>), as OpenAI allows.</summary>
    public const int MaxTop = 20;

    /// <summary>
    /// The leading <paramref name="tokens"/> whose text lies within the first <paramref name="length"/> characters: those of
    /// an answer cut at its output cap. <c>null</c> stays <c>null</c>.
    /// </summary>
    public static IReadOnlyList<TokenLogprob>? Within(IReadOnlyList<TokenLogprob>? tokens, int length)
    {
        if (tokens is null)
        {
            return null;
        }

        var kept = new List<TokenLogprob>(tokens.Count);
        var used = 0;
        foreach (var token in tokens)
        {
            used += token.Token.Length;
            if (used > length)
            {
                break;
            }

            kept.Add(token);
        }

        return kept.Count == tokens.Count ? tokens : kept;
    }
}
