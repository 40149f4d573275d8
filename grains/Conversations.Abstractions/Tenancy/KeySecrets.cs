using System.Security.Cryptography;
using System.Text;

namespace Conversations.Tenancy;

/// <summary>API key secrets: how they look, and the only form in which they are kept (a SHA-256 hash).</summary>
public static class KeySecrets
{
    public const string Prefix = "sk-conv-";

    /// <summary>Characters of a secret shown in listings so people can tell keys apart.</summary>
    public const int VisibleLength = 12;

    public static string New() => Prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    public static string Hash(string secret) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    public static string Visible(string secret) => secret[..Math.Min(VisibleLength, secret.Length)];
}
