using System.Text;
using Conversations.Providers;
using Conversations.Routing;

namespace Conversations.Grains.Routing;

/// <summary>
/// The most output an attempt may return: its deployment's <see cref="RouteDeployment.MaxOutputTokens"/>, or the request's
/// own limit if lower. The provider is asked for at most that; whatever it sends, the answer is cut there and finishes with
/// <c>length</c>. Text is measured by its UTF-8 bytes (a token is at least one byte), and counted with the tokenizer only
/// once it could be over the limit, so an answer well within it costs no tokenizing.
/// </summary>
internal sealed class OutputCap(int limit, TokenCounter tokens)
{
    private long _bytes;
    private int? _tokens;

    public static OutputCap For(RouteDeployment deployment, int? requested, TokenCounter tokens) =>
        new(Math.Min(requested ?? deployment.MaxOutputTokens, deployment.MaxOutputTokens), tokens);

    public int Limit => limit;

    /// <summary>Whether the answer was cut at the limit.</summary>
    public bool Reached { get; private set; }

    /// <summary>The part of <paramref name="text"/> within the limit, after <paramref name="sent"/> (what was taken before it).</summary>
    public string Take(string text, StringBuilder? sent = null)
    {
        if (Reached)
        {
            return string.Empty;
        }

        _bytes += Encoding.UTF8.GetByteCount(text);
        if (_tokens is null && _bytes <= limit)
        {
            return text;
        }

        var before = _tokens ??= sent is null ? 0 : tokens.Count(sent.ToString());
        var count = tokens.Count(text);
        if (before + count <= limit)
        {
            _tokens = before + count;
            return text;
        }

        Reached = true;
        return tokens.Truncate(text, limit - before);
    }
}
