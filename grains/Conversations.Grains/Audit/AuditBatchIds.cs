using System.Security.Cryptography;
using System.Text;

namespace Conversations.Grains.Audit;

/// <summary>
/// Batch ids derived from what a batch is, so that the same records sent again (a retry, or a journal replayed after a
/// crash) carry the same id and are appended once.
/// </summary>
public static class AuditBatchIds
{
    public static Guid Of(string name) => new(SHA256.HashData(Encoding.UTF8.GetBytes(name)).AsSpan(0, 16));
}
