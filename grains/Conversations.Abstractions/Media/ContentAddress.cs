using System.Security.Cryptography;

namespace Conversations.Media;

/// <summary>The content address of bytes: <c>sha256:</c> and their SHA-256 in hex. The same bytes always have the same address.</summary>
public static class ContentAddress
{
    public static string Of(ReadOnlySpan<byte> data) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));
}
