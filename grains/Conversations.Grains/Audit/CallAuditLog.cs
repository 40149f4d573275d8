using Conversations.Audit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Serialization;

namespace Conversations.Grains.Audit;

/// <summary>
/// A silo's call records on their way to the audit log, off the call path (decisions 0045, 0050). A call's record is
/// written to the silo's local journal (<see cref="CallAuditJournal"/>) and kept in memory; the answer's end is sent after
/// that. Every <see cref="AuditOptions.FlushInterval"/> the journal's segment is sealed and its records are written as
/// batches per tenant and day (<see cref="IAuditGrain.AppendCalls"/>), with ids derived from the segment, so a batch sent
/// again (a retry, or a segment replayed after a crash) is appended once; the segment is deleted when all are written.
/// When the silo stops normally, what is held is written before its grains go; after a crash, the next silo process on the
/// same journal directory writes what the dead one left.
/// </summary>
public sealed partial class CallAuditLog : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    /// <summary>Records per batch at most, so one write stays a few pages.</summary>
    private const int MaxBatch = 2_000;

    private readonly IGrainFactory _grains;
    private readonly AuditOptions _options;
    private readonly ILogger<CallAuditLog> _logger;
    private readonly CallAuditJournal _journal;
    private readonly Lock _gate = new();
    private readonly List<Segment> _sealed = [];
    private readonly SemaphoreSlim _flushing = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private List<AuditRecord> _current = [];
    private int _held;
    private long _dropped;
    private long _unjournaled;
    private Task _loop = Task.CompletedTask;

    public CallAuditLog(IGrainFactory grains, IOptions<AuditOptions> options, ILocalSiloDetails silo, IHostEnvironment host, Serializer serializer, ILogger<CallAuditLog> logger)
    {
        (_grains, _options, _logger) = (grains, options.Value, logger);
        var directory = _options.JournalPath is { Length: > 0 } path
            ? Path.Combine(host.ContentRootPath, path, silo.SiloAddress.Endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture))
            : null;
        _journal = new CallAuditJournal(serializer, directory, _options.JournalFlushToDisk);
    }

    /// <summary>
    /// Journals and holds a call's record; never waits on the network. When the silo holds <see cref="AuditOptions.MaxPendingCalls"/>
    /// unwritten records (storage down for long) the record is dropped and counted.
    /// </summary>
    public void Add(AuditRecord record)
    {
        lock (_gate)
        {
            if (_held >= _options.MaxPendingCalls)
            {
                _dropped++;
                return;
            }

            try
            {
                _journal.Append(record);
            }
            catch (IOException)
            {
                _unjournaled++; // still written from memory at the next flush; only a crash before it loses it
            }

            _current.Add(record);
            _held++;
        }
    }

    /// <summary>Writes everything held now, and retries batches that failed before; the first failure, if any.</summary>
    public async Task<GatewayError?> Flush()
    {
        await _flushing.WaitAsync();
        try
        {
            lock (_gate)
            {
                var records = _current;
                _current = [];
                var segment = _journal.Seal();
                if (records.Count > 0)
                {
                    _sealed.Add(new Segment(segment, Batches(segment, records)));
                }
                else
                {
                    _journal.Delete(segment);
                }
            }

            var failed = await WriteSealed();
            if (failed is not null)
            {
                LogUnwritten(_held - _current.Count, failed.Message);
            }

            Report();
            return failed;
        }
        finally
        {
            _flushing.Release();
        }
    }

    public void Dispose()
    {
        _journal.Dispose();
        _flushing.Dispose();
        _stopping.Dispose();
    }

    public void Participate(ISiloLifecycle lifecycle)
    {
        // The journal opens before the silo takes calls; the writing starts once grains can be called, and stops first.
        lifecycle.Subscribe(nameof(CallAuditLog), ServiceLifecycleStage.RuntimeInitialize, OpenJournal, _ => Task.CompletedTask);
        lifecycle.Subscribe(nameof(CallAuditLog), ServiceLifecycleStage.Active, Start, Stop);
    }

    private Task OpenJournal(CancellationToken cancellationToken)
    {
        IReadOnlyList<(string Segment, IReadOnlyList<AuditRecord> Records)> left;
        try
        {
            left = _journal.Open();
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"{AuditOptions.Section}:JournalPath: the audit journal could not be opened (unwritable, or another silo process holds it): {exception.Message}", exception);
        }

        lock (_gate)
        {
            foreach (var (segment, records) in left.Where(l => l.Records.Count > 0))
            {
                _sealed.Add(new Segment(segment, Batches(segment, records)));
                _held += records.Count;
            }

            foreach (var (segment, _) in left.Where(l => l.Records.Count == 0))
            {
                _journal.Delete(segment);
            }
        }

        if (left.Sum(l => l.Records.Count) is var replayed and > 0)
        {
            LogReplaying(replayed);
        }

        return Task.CompletedTask;
    }

    private Task Start(CancellationToken cancellationToken)
    {
        _loop = Task.Run(Run, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>The first stage to stop: grain calls still work, so what is held reaches the audit grains.</summary>
    private async Task Stop(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _loop;
        while (await Flush() is not null && !cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    private async Task<GatewayError?> WriteSealed()
    {
        GatewayError? failed = null;
        List<Segment> segments;
        lock (_gate)
        {
            segments = [.. _sealed];
        }

        foreach (var segment in segments)
        {
            foreach (var batch in segment.Unsent.ToList())
            {
                try
                {
                    var written = await _grains.GetGrain<IAuditGrain>(batch.Day).AppendCalls(batch.Id, batch.Records);
                    if (!written.IsSuccess)
                    {
                        failed ??= written.Error;
                        continue;
                    }

                    segment.Unsent.Remove(batch);
                    lock (_gate)
                    {
                        _held -= batch.Records.Count;
                    }
                }
                catch (Exception exception) when (exception is TimeoutException or OrleansException)
                {
                    failed ??= GatewayError.StorageUnavailable;
                }
            }

            if (segment.Unsent.Count == 0)
            {
                _journal.Delete(segment.Name);
                lock (_gate)
                {
                    _sealed.Remove(segment);
                }
            }
        }

        return failed;
    }

    /// <summary>A segment's batches: per tenant and day in journal order, ids derived from the segment, the same however often it is read.</summary>
    private static List<Batch> Batches(string segment, IReadOnlyList<AuditRecord> records) =>
        [.. records.GroupBy(r => AuditKeys.Day(r.Tenant, DateOnly.FromDateTime(r.At.UtcDateTime)))
            .SelectMany(day => day.Chunk(MaxBatch).Select((chunk, i) => new Batch(AuditBatchIds.Of($"{segment}/{day.Key}/{i}"), day.Key, [.. chunk])))];

    private void Report()
    {
        long dropped, unjournaled;
        lock (_gate)
        {
            (dropped, unjournaled, _dropped, _unjournaled) = (_dropped, _unjournaled, 0, 0);
        }

        if (dropped > 0)
        {
            LogDropped(dropped);
        }

        if (unjournaled > 0)
        {
            LogUnjournaled(unjournaled);
        }
    }

    private async Task Run()
    {
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await Flush(); // first at once: what a crashed process left is written on start
            }
            catch (Exception exception)
            {
                LogFlushFailed(exception);
            }

            try
            {
                await Task.Delay(_options.FlushInterval, _stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private sealed record Segment(string Name, List<Batch> Unsent);

    private sealed record Batch(Guid Id, string Day, List<AuditRecord> Records);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} call audit records could not be written yet; retrying on the next flush: {Error}")]
    private partial void LogUnwritten(int count, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Count} call audit records were dropped: the silo held its most unwritten records")]
    private partial void LogDropped(long count);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Count} call audit records could not be journaled (held in memory only until the next flush)")]
    private partial void LogUnjournaled(long count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Writing {Count} call audit records that a previous process of this silo journaled and did not write")]
    private partial void LogReplaying(int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Writing call audit records failed")]
    private partial void LogFlushFailed(Exception exception);
}
