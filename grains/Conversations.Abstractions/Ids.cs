using System.Buffers;
using System.Security.Cryptography;

namespace Conversations;

/// <summary>OpenAI-style identifiers: a type prefix and 48 random hex digits (<c>conv_…</c>, <c>msg_…</c>).</summary>
public static class Ids
{
    private static readonly SearchValues<char> IdChars =
        SearchValues.Create("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-");

    public const string Conversation = "conv";
    public const string Message = "msg";
    public const string FunctionCall = "fc";
    public const string FunctionCallOutput = "fco";
    public const string Response = "resp";
    public const string ChatCompletion = "chatcmpl";
    public const string KnowledgeBase = "kb";
    public const string Document = "doc";
    public const string Prompt = "pmpt";

    /// <summary>A compaction item (<c>cmp_…</c>): a summary standing for the context before it.</summary>
    public const string Compaction = "cmp";

    public static bool IsCompaction(string id) => id.StartsWith(Compaction + "_", StringComparison.Ordinal);

    /// <summary>A new id for an item of the given kind (<see cref="ItemKinds"/>).</summary>
    public static string NewItem(string kind) =>
        New(kind switch { ItemKinds.FunctionCall => FunctionCall, ItemKinds.FunctionCallOutput => FunctionCallOutput, _ => Message });

    public static string New(string prefix) =>
        string.Concat(prefix, prefix == ChatCompletion ? "-" : "_", Convert.ToHexStringLower(RandomBytes.Take(24)));

    /// <summary>32 random hex digits, for ids no client sees (quota leases).</summary>
    public static string Opaque() => Convert.ToHexStringLower(RandomBytes.Take(16));

    /// <summary>True when <paramref name="id"/> is a well-formed id of the given kind.</summary>
    public static bool IsValid(string? id, string prefix) =>
        id is not null
        && id.Length is > 5 and <= 128
        && id.StartsWith(prefix + "_", StringComparison.Ordinal)
        && id.AsSpan(prefix.Length + 1).IndexOfAnyExcept(IdChars) < 0;

    /// <summary>
    /// Cryptographically random bytes drawn from a per-thread block, so a call's ids cost one generator call per
    /// block instead of one each (each is a call into OpenSSL, several microseconds on the hot path).
    /// </summary>
    private static class RandomBytes
    {
        [ThreadStatic]
        private static byte[]? t_block;

        [ThreadStatic]
        private static int t_used;

        public static ReadOnlySpan<byte> Take(int count)
        {
            if (t_block is null || t_used + count > t_block.Length)
            {
                t_block ??= new byte[1024];
                RandomNumberGenerator.Fill(t_block);
                t_used = 0;
            }

            var taken = t_block.AsSpan(t_used, count);
            t_used += count;
            return taken;
        }
    }
}
