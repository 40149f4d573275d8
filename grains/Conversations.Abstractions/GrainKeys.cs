namespace Conversations;

/// <summary>
/// Every grain key starts with the tenant, so a caller of one tenant can never address another
/// tenant's grain, whatever id it sends.
/// </summary>
public static class GrainKeys
{
    public static string For(string tenant, string id) => $"{tenant}/{id}";

    public static (string Tenant, string Id) Parse(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? (string.Empty, key) : (key[..slash], key[(slash + 1)..]);
    }
}
