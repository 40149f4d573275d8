using Conversations.Tenancy;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Conversations.Grains.Quotas;

/// <summary>
/// One tenant's admission control (see <see cref="QuotaLedger"/>), exact through a crash of its silo (decision 0027).
/// Its whole state (windows, calls in flight, budget use) is written every <see cref="QuotaOptions.FlushInterval"/>, and
/// each write grants a headroom: what the activation may admit before the next write lands. An admission within the
/// headroom is answered at once; one past it, or one in a scope with a concurrency limit, is answered once a write that
/// includes it has landed. A new activation restores the state; if the last one died (no clean final write), it counts
/// the last headroom as used. So a crash can make limits refuse what they would have admitted, bounded by the headroom,
/// and never admit more. Usage rows go to the day's <see cref="IUsageGrain"/> on the same flushes. The day's distinct end
/// users (while the tenant caps them) are not in that state: a new activation reads them back from the day's usage record,
/// missing only those whose calls were not yet handed over.
/// </summary>
public sealed partial class TenantQuotaGrain(
    [PersistentState("quota", StorageNames.Conversations)] IPersistentState<QuotaState> state,
    IOptions<QuotaOptions> options,
    TimeProvider clock,
    ILogger<TenantQuotaGrain> logger) : Grain, ITenantQuotaGrain
{
    private readonly QuotaLedger _ledger = new(clock);
    private readonly UsageHandOff _usage = new();
    private QuotaUse _admitted;
    private (QuotaUse At, QuotaUse Headroom) _durable;
    private long _durableSince = clock.GetTimestamp();
    private (QuotaUse At, QuotaUse Headroom)? _writing;
    private TaskCompletionSource<GatewayError?> _nextWrite = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task<GatewayError?> _flushing = Task.FromResult<GatewayError?>(null);
    private bool _changed;
    private bool _flushQueued;

    private string Tenant => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Until this activation's first write lands, nothing it admits is covered: that write records the restored state.
        _ledger.Restore(state.State, state.State.Clean ? null : state.State.Headroom);
        _changed = !state.State.Clean && state.State.Headroom.Requests > 0;
        var interval = options.Value.FlushInterval;
        this.RegisterGrainTimer(_ => Flush(), new GrainTimerCreationOptions(interval, interval) { Interleave = true });
        var today = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        try
        {
            var usage = GrainFactory.GetGrain<IUsageGrain>(GrainKeys.For(Tenant, today.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)));
            _ledger.SeenEndUsers(today, (await usage.Get()).Select(row => row.User));
        }
        catch (Exception exception)
        {
            LogEndUsersUnread(exception, Tenant);
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => await Flush(clean: true);

    public async Task<Result<Admission>> Admit(AdmissionRequest request)
    {
        var admitted = _ledger.Admit(request);
        if (!admitted.IsSuccess)
        {
            return admitted;
        }

        _changed = true;
        _admitted += new QuotaUse(1, request.EstimatedTokens, request.EstimatedCostUsd);
        var mine = _admitted;
        var throughWrite = HasConcurrencyLimit(request);
        while (!Covered(mine, throughWrite))
        {
            var written = _nextWrite.Task;
            _ = Flush();
            if (await written is { } failure)
            {
                _ledger.Settle(request.LeaseId, 0, 0); // never answered: the slot and reservation go back
                return failure;
            }
        }

        if (!(_admitted - _durable.At).Within(Half(_durable.Headroom)) && _flushing.IsCompleted)
        {
            _ = Flush(); // half the headroom used: the next grant is written before anyone waits for it
        }

        return admitted;
    }

    public Task Settle(string leaseId, Caller caller, string? endUser, string model, TokenUsage actual, decimal costUsd)
    {
        if (_ledger.Settle(leaseId, actual.TotalTokens, costUsd, new AdmissionRequest(leaseId, caller, endUser, 0, 0)))
        {
            _usage.Add(new UsageRow(DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime), caller.KeyId, endUser ?? string.Empty, model, 1, actual.InputTokens, actual.OutputTokens, costUsd));
            _changed = true;
        }

        return Task.CompletedTask;
    }

    public Task SettleCacheHit(string leaseId, Caller caller, string? endUser, string model, decimal savedCostUsd)
    {
        if (_ledger.Settle(leaseId, 0, 0, new AdmissionRequest(leaseId, caller, endUser, 0, 0)))
        {
            _usage.Add(new UsageRow(DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime), caller.KeyId, endUser ?? string.Empty, model, 1, 0, 0, 0, 1, savedCostUsd));
            _changed = true;
        }

        return Task.CompletedTask;
    }

    public Task<GatewayError?> FlushUsage() => Flush();

    /// <summary>
    /// Whether an admission that brought the count to <paramref name="admitted"/> may be answered: a landed write includes it,
    /// or it is within the headroom of the last write that landed and of the one being written (either may be what storage holds).
    /// </summary>
    private bool Covered(QuotaUse admitted, bool throughWrite) =>
        _durable.At.Requests >= admitted.Requests
        || (!throughWrite && (admitted - _durable.At).Within(_durable.Headroom) && (_writing is not { } writing || (admitted - writing.At).Within(writing.Headroom)));

    private static bool HasConcurrencyLimit(AdmissionRequest request) =>
        request.Caller.TenantLimits.MaxConcurrentRequests is not null || request.Caller.KeyLimits.MaxConcurrentRequests is not null
        || (request.EndUser is { Length: > 0 } && request.Caller.UserLimits.MaxConcurrentRequests is not null);

    private static QuotaUse Half(QuotaUse use) => new(use.Requests / 2, use.Tokens / 2, use.CostUsd / 2);

    /// <summary>One flush at a time; a caller arriving during a flush gets the next one (one queued at most), which includes what it changed.</summary>
    private Task<GatewayError?> Flush(bool clean = false)
    {
        if (_flushing.IsCompleted)
        {
            _flushing = FlushOnce(clean);
        }
        else if (!_flushQueued || clean)
        {
            _flushQueued = true;
            _flushing = _flushing.ContinueWith(_ =>
            {
                _flushQueued = false;
                return FlushOnce(clean);
            }, TaskScheduler.Current).Unwrap();
        }

        return _flushing;
    }

    /// <summary>Writes the state (if it changed) with the next headroom, then hands usage on; the first storage failure, if any.</summary>
    private async Task<GatewayError?> FlushOnce(bool clean)
    {
        _ledger.ExpireLeases();
        var failed = _changed || clean ? await Write(clean) : null;
        return await _usage.HandOff(GrainFactory, Tenant, logger) ?? failed;
    }

    private async Task<GatewayError?> Write(bool clean)
    {
        _changed = false;
        var at = _admitted;
        var since = clock.GetTimestamp();
        var headroom = clean ? default : Headroom(at - _durable.At, clock.GetElapsedTime(_durableSince, since));
        _writing = (at, headroom);
        var failure = await state.TryReplace(_ledger.Snapshot() with { Headroom = headroom, Clean = clean }, this, logger);
        _writing = null;
        if (failure is null)
        {
            (_durable, _durableSince) = ((at, headroom), since);
        }
        else
        {
            _changed = true;
        }

        var done = Interlocked.Exchange(ref _nextWrite, new(TaskCreationOptions.RunContinuationsAsynchronously));
        done.SetResult(failure);
        return failure;
    }

    /// <summary>
    /// The next write's grant: what <paramref name="admitted"/> in <paramref name="elapsed"/> comes to over two flush intervals,
    /// at least the minimum. At half of it the next write starts, so under steady load a tenant's grain writes about once a
    /// flush interval, and a crash counts at most two intervals' admissions as used.
    /// </summary>
    private QuotaUse Headroom(QuotaUse admitted, TimeSpan elapsed)
    {
        var scale = Math.Min(1_000, 2 * options.Value.FlushInterval / TimeSpan.FromTicks(Math.Max(elapsed.Ticks, TimeSpan.TicksPerMillisecond)));
        var projected = new QuotaUse((int)Math.Min(int.MaxValue, admitted.Requests * scale), (long)(admitted.Tokens * scale), admitted.CostUsd * (decimal)scale);
        return QuotaUse.Max(options.Value.MinHeadroom, projected);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading today's end users of tenant {Tenant} from its usage record failed; the day's count starts from none")]
    private partial void LogEndUsersUnread(Exception exception, string tenant);
}
