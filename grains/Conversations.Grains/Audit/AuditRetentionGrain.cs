using Conversations.Audit;
using Conversations.Tenancy;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Conversations.Grains.Audit;

/// <summary>
/// Removes a tenant's audit days once they fall out of its retention (decision 0051): a day goes whole when its last
/// instant is older than the retention. It remembers the oldest day that may still hold records, so a sweep visits only
/// the days between that and the cut-off. Sweeps run when a day receives its first record and before every audit query.
/// </summary>
public sealed partial class AuditRetentionGrain(
    [PersistentState("auditretention", StorageNames.Conversations)] IPersistentState<AuditRetentionState> state,
    IOptions<AuditOptions> options,
    TimeProvider clock,
    ILogger<AuditRetentionGrain> logger) : Grain, IAuditRetentionGrain
{
    private string Tenant => this.GetPrimaryKeyString();

    public async Task Touch(DateOnly day)
    {
        if (state.State.OldestDay is not { } oldest || day < oldest)
        {
            await state.TryReplace(state.State with { OldestDay = day }, this, logger);
        }

        await Sweep();
    }

    public async Task<DateTimeOffset> Sweep()
    {
        var retention = await RetentionDays();
        var keptFrom = clock.GetUtcNow() - TimeSpan.FromDays(retention);
        var cutoff = DateOnly.FromDateTime(keptFrom.UtcDateTime); // days before it ended before keptFrom
        if (state.State.OldestDay is not { } oldest || oldest >= cutoff)
        {
            return keptFrom;
        }

        for (var day = oldest; day < cutoff; day = day.AddDays(1))
        {
            if (await GrainFactory.GetGrain<IAuditGrain>(AuditKeys.Day(Tenant, day)).Clear() is not null)
            {
                await state.TryReplace(state.State with { OldestDay = day }, this, logger); // the rest on the next sweep
                return keptFrom;
            }
        }

        await state.TryReplace(state.State with { OldestDay = cutoff }, this, logger);
        LogSwept(Tenant, oldest, cutoff);
        return keptFrom;
    }

    private async Task<int> RetentionDays()
    {
        var tenant = await GrainFactory.GetGrain<ITenantGrain>(Tenant).Get();
        return tenant is { IsSuccess: true, Value.AuditRetentionDays: { } days } ? days : options.Value.RetentionDays;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Audit days of tenant {Tenant} from {From} until {Until} removed by retention")]
    private partial void LogSwept(string tenant, DateOnly from, DateOnly until);
}

[GenerateSerializer, Immutable, Alias("audit.RetentionState")]
public sealed record AuditRetentionState
{
    /// <summary>The oldest day that may hold records; null while the tenant has none.</summary>
    [Id(0)]
    public DateOnly? OldestDay { get; init; }
}
