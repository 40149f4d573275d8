using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace Conversations.Bench;

/// <summary>
/// Every GC pause of another .NET process, as dotnet-trace reads them: an EventPipe session on the runtime's GC events
/// (informational level, little overhead), each pause from the suspension for a GC to the restart after it; GCs induced
/// for a reading (<see cref="HeapAfterFullGc"/>) are left out.
/// </summary>
internal sealed class GcPauses : IAsyncDisposable
{
    private readonly EventPipeSession _session;
    private readonly EventPipeEventSource _source;
    private readonly Task _reading;
    private readonly List<(DateTime At, double Ms)> _pauses = [];
    private double? _suspended;
    private bool _induced;

    private GcPauses(int processId)
    {
        _session = new DiagnosticsClient(processId).StartEventPipeSession(
            [new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Informational, (long)ClrTraceEventParser.Keywords.GC)], requestRundown: false);
        _source = new EventPipeEventSource(_session.EventStream);
        _source.Clr.GCSuspendEEStart += data => _suspended = data.Reason is GCSuspendEEReason.SuspendForGC or GCSuspendEEReason.SuspendForGCPrep ? data.TimeStampRelativeMSec : null;
        _source.Clr.GCStart += data => _induced |= data.Reason.ToString().StartsWith("Induced", StringComparison.Ordinal);
        _source.Clr.GCRestartEEStop += data =>
        {
            if (_suspended is { } suspended && !_induced)
            {
                lock (_pauses)
                {
                    _pauses.Add((data.TimeStamp.ToUniversalTime(), data.TimeStampRelativeMSec - suspended));
                }

            }

            (_suspended, _induced) = (null, false);
        };
        _reading = Task.Run(() => _source.Process());
    }

    public static GcPauses Start(int processId) => new(processId);

    /// <summary>
    /// The managed heap of another process after a full GC the runtime runs for this reading (the GC heap collection dotnet-gcdump
    /// asks for, without the heap walk): its live objects, whatever garbage or free memory its resident size still holds.
    /// </summary>
    public static async Task<long> HeapAfterFullGc(int processId)
    {
        using var session = new DiagnosticsClient(processId).StartEventPipeSession(
            [new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Informational, (long)(ClrTraceEventParser.Keywords.GC | ClrTraceEventParser.Keywords.GCHeapCollect))],
            requestRundown: false);
        using var source = new EventPipeEventSource(session.EventStream);
        var heap = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var induced = false;
        source.Clr.GCStart += data => induced = data.Depth == 2 && data.Reason.ToString().StartsWith("Induced", StringComparison.Ordinal);
        source.Clr.GCHeapStats += data =>
        {
            if (induced)
            {
                heap.TrySetResult(data.TotalHeapSize);
            }
        };
        var reading = Task.Run(() => source.Process());
        var bytes = await heap.Task.WaitAsync(TimeSpan.FromMinutes(2));
        await session.StopAsync(CancellationToken.None);
        await reading.WaitAsync(TimeSpan.FromSeconds(30));
        return bytes;
    }

    /// <summary>The pauses (ms) that ended after <paramref name="from"/> (UTC).</summary>
    public List<double> Since(DateTime from)
    {
        lock (_pauses)
        {
            return [.. _pauses.Where(pause => pause.At >= from).Select(pause => pause.Ms)];
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _session.StopAsync(timeout.Token);
            await _reading.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (Exception exception) when (exception is OperationCanceledException or TimeoutException or ServerNotAvailableException or EndOfStreamException)
        {
            // The process has gone (killed at the end of the run): what was read stays.
        }

        _source.Dispose();
        _session.Dispose();
    }
}
