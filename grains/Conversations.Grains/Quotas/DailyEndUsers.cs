namespace Conversations.Grains.Quotas;

/// <summary>
/// The distinct end users a tenant's calls named on the current UTC day, against the day's cap
/// (<see cref="Conversations.Tenancy.StorageLimits.EndUsersPerDay"/>): an end user already seen today is always let
/// through, a new one only while the day has room. Held in memory by the quota grain, which fills it from the day's
/// usage record when it activates.
/// </summary>
internal sealed class DailyEndUsers
{
    private readonly HashSet<string> _users = new(StringComparer.Ordinal);
    private DateOnly _day;

    public int Count => _users.Count;

    /// <summary>Whether <paramref name="user"/> may call today; a new one is counted from here on.</summary>
    public bool Admit(string user, int cap, DateTimeOffset now)
    {
        Roll(now);
        return _users.Contains(user) || (_users.Count < cap && _users.Add(user));
    }

    /// <summary>Counts end users already seen on <paramref name="day"/>, if that is still today.</summary>
    public void Seen(DateOnly day, IEnumerable<string> users, DateTimeOffset now)
    {
        Roll(now);
        if (day == _day)
        {
            _users.UnionWith(users.Where(user => user.Length > 0));
        }
    }

    private void Roll(DateTimeOffset now)
    {
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        if (today != _day)
        {
            _day = today;
            _users.Clear();
        }
    }
}
