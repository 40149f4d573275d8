using Conversations.Tenancy;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Conversations.Grains.Quotas;

/// <summary>
/// One tenant's admission control (see <see cref="QuotaLedger"/>). Minute windows live in memory;
/// budget use is persisted, and usage rows go to the day's <see cref="IUsageGrain"/>, both written
/// behind every <see cref="QuotaOptions.FlushInterval"/> and on deactivation.
/// See docs/decisions/0005-one-quota-grain-per-tenant.md.
/// </summary>
public sealed partial class TenantQuotaGrain(
    [PersistentState("quota", StorageNames.Conversations)] IPersistentState<QuotaState> state,
    IOptions<QuotaOptions> options,
    TimeProvider clock,
    ILogger<TenantQuotaGrain> logger) : Grain, ITenantQuotaGrain
{
    private readonly QuotaLedger _ledger = new(clock);
    private Dictionary<(DateOnly, string, string, string), UsageRow> _pending = [];
    private readonly List<UsageBatch> _unsent = [];
    private bool _budgetsChanged;
    private Task<GatewayError?> _flushing = Task.FromResult<GatewayError?>(null);

    private string Tenant => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _ledger.Budgets = state.State.Budgets;
        var interval = options.Value.FlushInterval;
        this.RegisterGrainTimer(_ => Flush(), new GrainTimerCreationOptions(interval, interval) { Interleave = true });
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => await Flush();

    public Task<Result<Admission>> Admit(AdmissionRequest request) => Task.FromResult(_ledger.Admit(request));

    public Task Settle(string leaseId, Caller caller, string? endUser, string model, TokenUsage actual, decimal costUsd)
    {
        if (_ledger.Settle(leaseId, actual.TotalTokens, costUsd, new AdmissionRequest(leaseId, caller, endUser, 0, 0)))
        {
            var row = new UsageRow(DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime), caller.KeyId, endUser ?? string.Empty, model, 1, actual.InputTokens, actual.OutputTokens, costUsd);
            _pending[row.Group] = _pending.TryGetValue(row.Group, out var existing) ? existing.Add(row) : row;
            _budgetsChanged = true;
        }

        return Task.CompletedTask;
    }

    public Task<GatewayError?> FlushUsage() => Flush();

    /// <summary>One flush at a time; a caller arriving during a flush waits for the next one to include its rows.</summary>
    private Task<GatewayError?> Flush()
    {
        _flushing = _flushing.IsCompleted ? FlushOnce() : _flushing.ContinueWith(_ => FlushOnce(), TaskScheduler.Current).Unwrap();
        return _flushing;
    }

    /// <summary>Returns the first storage failure, if any: what failed stays pending for the next flush.</summary>
    private async Task<GatewayError?> FlushOnce()
    {
        _ledger.ExpireLeases();

        // Batches keep their id until the usage grain confirms them, so a retry after an ambiguous failure is not counted twice.
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
                var key = GrainKeys.For(Tenant, batch.Day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
                if (await GrainFactory.GetGrain<IUsageGrain>(key).Record(batch.Id, batch.Rows) is { } unrecorded)
                {
                    failed ??= unrecorded;
                    continue;
                }

                _unsent.Remove(batch);
            }
            catch (Exception exception)
            {
                LogUsageUnreachable(exception, Tenant);
            }
        }

        if (_budgetsChanged)
        {
            _budgetsChanged = false;
            if (await state.TryReplace(new QuotaState { Budgets = _ledger.Budgets }, this, logger) is { } unwritten)
            {
                _budgetsChanged = true;
                failed ??= unwritten;
            }
        }

        return failed;
    }

    private sealed record UsageBatch(Guid Id, DateOnly Day, List<UsageRow> Rows);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Handing usage of tenant {Tenant} to its usage grain failed; retrying on the next flush")]
    private partial void LogUsageUnreachable(Exception exception, string tenant);
}

[GenerateSerializer, Alias("tenancy.QuotaState")]
public sealed record QuotaState
{
    [Id(0)] public Dictionary<string, BudgetUse> Budgets { get; init; } = new(StringComparer.Ordinal);
}
