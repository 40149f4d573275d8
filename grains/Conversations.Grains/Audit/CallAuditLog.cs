using System.Threading.Channels;
using Conversations.Audit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Conversations.Grains.Audit;

/// <summary>
/// A silo's call records on their way to the audit log, off the call path (decision 0050): a call adds its record to a
/// bounded in-memory queue and goes on; every <see cref="AuditOptions.FlushInterval"/> the queue is written as one batch
/// per tenant and day (<see cref="IAuditGrain.AppendCalls"/>). A batch keeps its id until written, so a retry after an
/// ambiguous failure is appended once. When the silo stops normally, what is queued is written before its grains go; a
/// crash loses what was queued and not yet written (at most one flush interval's records).
/// </summary>
public sealed partial class CallAuditLog(IGrainFactory grains, IOptions<AuditOptions> options, ILogger<CallAuditLog> logger)
    : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    /// <summary>Records per batch at most, so one write stays a few pages.</summary>
    private const int MaxBatch = 2_000;

    private readonly Channel<AuditRecord> _queue = Channel.CreateBounded<AuditRecord>(
        new BoundedChannelOptions(options.Value.MaxPendingCalls) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
    private readonly List<(Guid Id, string Day, List<AuditRecord> Records)> _unsent = [];
    private readonly SemaphoreSlim _flushing = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private Task _loop = Task.CompletedTask;
    private long _dropped;

    /// <summary>Queues a call's record; never waits. A full queue (storage down for long: queued and unwritten batches together) drops it and counts it.</summary>
    public void Add(AuditRecord record)
    {
        if (!_queue.Writer.TryWrite(record)) // full: TryWrite never waits
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>Writes everything queued now, and retries batches that failed before; the first failure, if any.</summary>
    public async Task<GatewayError?> Flush()
    {
        await _flushing.WaitAsync();
        try
        {
            // Batches that failed count against the bound too: while storage is down the queue fills and new records are dropped.
            var room = options.Value.MaxPendingCalls - _unsent.Sum(b => b.Records.Count);
            var drained = new List<AuditRecord>();
            while (drained.Count < room && _queue.Reader.TryRead(out var record))
            {
                drained.Add(record);
            }

            foreach (var day in drained.GroupBy(r => AuditKeys.Day(r.Tenant, DateOnly.FromDateTime(r.At.UtcDateTime))))
            {
                _unsent.AddRange(day.Chunk(MaxBatch).Select(chunk => (Guid.NewGuid(), day.Key, chunk.ToList())));
            }

            GatewayError? failed = null;
            foreach (var batch in _unsent.ToList())
            {
                try
                {
                    var written = await grains.GetGrain<IAuditGrain>(batch.Day).AppendCalls(batch.Id, batch.Records);
                    if (written.IsSuccess)
                    {
                        _unsent.Remove(batch);
                        continue;
                    }

                    failed ??= written.Error;
                }
                catch (Exception exception) when (exception is TimeoutException or OrleansException)
                {
                    failed ??= GatewayError.StorageUnavailable;
                }
            }

            if (failed is not null)
            {
                LogUnwritten(_unsent.Sum(b => b.Records.Count), failed.Message);
            }

            if (Interlocked.Exchange(ref _dropped, 0) is var dropped and > 0)
            {
                LogDropped(dropped);
            }

            return failed;
        }
        finally
        {
            _flushing.Release();
        }
    }

    public void Dispose()
    {
        _flushing.Dispose();
        _stopping.Dispose();
    }

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(CallAuditLog), ServiceLifecycleStage.Active, Start, Stop);

    private Task Start(CancellationToken cancellationToken)
    {
        _loop = Task.Run(Run, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>The first stage to stop: grain calls still work, so what is queued reaches the audit grains.</summary>
    private async Task Stop(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        await _stopping.CancelAsync();
        await _loop;
        while (await Flush() is not null && _unsent.Count > 0 && !cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    private async Task Run()
    {
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.Value.FlushInterval, _stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                await Flush();
            }
            catch (Exception exception)
            {
                LogFlushFailed(exception);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} call audit records could not be written yet; retrying on the next flush: {Error}")]
    private partial void LogUnwritten(int count, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Count} call audit records were dropped: the silo's queue of unwritten records was full")]
    private partial void LogDropped(long count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Writing call audit records failed")]
    private partial void LogFlushFailed(Exception exception);
}
