using Conversations.Tenancy;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains.Quotas;

/// <summary>
/// A quota grain's usage rows, summed per day, key, end user and model, and handed to the day's <see cref="IUsageGrain"/>
/// on each flush. Batches keep their id until the usage grain confirms them, so a retry after an ambiguous failure is
/// not counted twice.
/// </summary>
internal sealed partial class UsageHandOff
{
    private Dictionary<(DateOnly, string, string, string), UsageRow> _pending = [];
    private readonly List<UsageBatch> _unsent = [];

    public void Add(UsageRow row) => _pending[row.Group] = _pending.TryGetValue(row.Group, out var existing) ? existing.Add(row) : row;

    /// <summary>Hands every pending row on; the first storage failure, if any (what failed stays for the next time).</summary>
    public async Task<GatewayError?> HandOff(IGrainFactory grains, string tenant, ILogger logger)
    {
        foreach (var day in _pending.Values.GroupBy(row => row.Day))
        {
            _unsent.Add(new UsageBatch(Guid.NewGuid(), day.Key, [.. day]));
        }

        _pending = [];
        GatewayError? failed = null;
        foreach (var batch in _unsent.ToList())
        {
            try
            {
                var key = GrainKeys.For(tenant, batch.Day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
                if (await grains.GetGrain<IUsageGrain>(key).Record(batch.Id, batch.Rows) is { } unrecorded)
                {
                    failed ??= unrecorded;
                    continue;
                }

                _unsent.Remove(batch);
            }
            catch (Exception exception)
            {
                LogUsageUnreachable(logger, exception, tenant);
            }
        }

        return failed;
    }

    private sealed record UsageBatch(Guid Id, DateOnly Day, List<UsageRow> Rows);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Handing usage of tenant {Tenant} to its usage grain failed; retrying on the next flush")]
    private static partial void LogUsageUnreachable(ILogger logger, Exception exception, string tenant);
}
