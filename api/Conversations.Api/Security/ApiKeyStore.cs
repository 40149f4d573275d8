using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Conversations.Api.Security;

/// <summary>
/// Maps a presented key to its tenant. Only SHA-256 hashes of keys are kept in memory, so a heap
/// dump does not reveal them and lookups do not compare secrets character by character.
/// </summary>
public sealed partial class ApiKeyStore
{
    private readonly Dictionary<string, string> _tenantsByHash = new(StringComparer.Ordinal);

    public ApiKeyStore(IOptions<ApiKeyOptions> options, ILogger<ApiKeyStore> logger)
    {
        var keys = options.Value.Keys.Where(k => !string.IsNullOrWhiteSpace(k.Key)).ToList();
        if (Environment.GetEnvironmentVariable(ApiKeyOptions.EnvironmentVariable) is { Length: > 0 } fromEnvironment)
        {
            keys.Add(new ApiKeyEntry { Key = fromEnvironment });
        }

        if (keys.Count == 0)
        {
            var generated = "sk-conv-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
            keys.Add(new ApiKeyEntry { Key = generated });
            LogGeneratedKey(logger, ApiKeyOptions.EnvironmentVariable, generated);
        }

        foreach (var key in keys)
        {
            _tenantsByHash[Hash(key.Key)] = key.Tenant;
        }
    }

    public string? FindTenant(string presentedKey) => _tenantsByHash.GetValueOrDefault(Hash(presentedKey));

    private static string Hash(string key) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    [LoggerMessage(Level = LogLevel.Warning, Message = "No API key configured ({Variable} is unset). Generated one for this run: {Key}")]
    private static partial void LogGeneratedKey(ILogger logger, string variable, string key);
}
