using Microsoft.ML.Tokenizers;

namespace Conversations.Providers;

/// <summary>
/// Counts tokens with the o200k_base encoding (GPT-4o family). Loading an encoding takes about a
/// quarter of a second, so there is one instance per process.
/// </summary>
public sealed class TokenCounter
{
    /// <summary>Per-message framing tokens that chat formats add around each message's content.</summary>
    public const int MessageOverhead = 3;

    private readonly Tokenizer _tokenizer = TiktokenTokenizer.CreateForModel("gpt-4o");

    public static TokenCounter Shared { get; } = new();

    public int Count(string text) => text.Length == 0 ? 0 : _tokenizer.CountTokens(text);

    /// <summary>The longest start of <paramref name="text"/> that is at most <paramref name="maxTokens"/> tokens.</summary>
    public string Truncate(string text, int maxTokens) =>
        maxTokens <= 0 ? string.Empty : text[.._tokenizer.GetIndexByTokenCount(text, maxTokens, out _, out _)];

    /// <summary>Tokens for a prompt made of the given message texts, including chat framing.</summary>
    public int CountPrompt(IEnumerable<string> messageTexts) =>
        messageTexts.Sum(text => Count(text) + MessageOverhead) + MessageOverhead;

    /// <summary>Splits text into token-sized pieces whose concatenation is the text.</summary>
    public IEnumerable<string> Split(string text)
    {
        var offset = 0;
        foreach (var token in _tokenizer.EncodeToTokens(text, out _))
        {
            var end = token.Offset.End.GetOffset(text.Length);
            if (end <= offset)
            {
                continue;
            }

            yield return text[offset..end];
            offset = end;
        }

        if (offset < text.Length)
        {
            yield return text[offset..];
        }
    }
}
