using Conversations.Api.Errors;
using Microsoft.Extensions.Logging;

namespace Conversations.Api.Streaming;

/// <summary>
/// Reads a model call's chunks from a grain. Never throws for failures of the call: a cluster
/// failure or a stream that ends without an outcome becomes an error chunk, so every consumer ends
/// the client's response with an explicit error rather than a silent or clean-looking finish.
/// </summary>
public sealed partial class ChunkReader(IAsyncEnumerable<CompletionChunk> chunks, ILogger logger, CancellationToken cancellationToken)
    : IAsyncDisposable
{
    private readonly IAsyncEnumerator<CompletionChunk> _chunks = chunks.GetAsyncEnumerator(cancellationToken);
    private readonly long _started = System.Diagnostics.Stopwatch.GetTimestamp();
    private bool _firstToken;

    /// <summary>What the chunks read so far said about the call: its admission, route, truncation, citations.</summary>
    public CallInfo Info { get; private set; } = CallInfo.None;

    public async ValueTask<CompletionChunk> NextAsync()
    {
        try
        {
            if (await _chunks.MoveNextAsync())
            {
                Info = Info.Merge(_chunks.Current.Info);
                if (!_firstToken && _chunks.Current is DeltaChunk)
                {
                    _firstToken = true;
                    Hosting.ServerTimeToFirstToken.Record(_started, Info.Route?.Deployment);
                }

                return _chunks.Current;
            }

            return new ErrorChunk(ApiErrors.Unavailable("The model call ended without a result; retry the request."));
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            LogCallFailed(logger, ClusterFailures.Describe(exception), exception.GetType().Name, exception);
            return new ErrorChunk(ClusterFailures.ToGatewayError(exception));
        }
    }

    /// <summary>Reads to the end: the final result, or the error that ended the call.</summary>
    public async ValueTask<Result<CompletionResult>> ReadToEndAsync(CompletionChunk? current = null)
    {
        var chunk = current ?? await NextAsync();
        while (chunk is DeltaChunk)
        {
            chunk = await NextAsync();
        }

        return chunk is FinalChunk final ? final.Result : ((ErrorChunk)chunk).Error;
    }

    public ValueTask DisposeAsync() => _chunks.DisposeAsync();

    [LoggerMessage(Level = LogLevel.Warning, Message = "A model call failed inside the cluster: {Failure} ({ExceptionType})")]
    private static partial void LogCallFailed(ILogger logger, string failure, string exceptionType, Exception exception);
}
