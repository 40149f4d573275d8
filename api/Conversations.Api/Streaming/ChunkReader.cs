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

    /// <summary>The rate-limit status the call was admitted with, once its admission chunk has been read.</summary>
    public Conversations.Tenancy.Admission? Admission { get; private set; }

    /// <summary>The deployment that served the call (or failed it last), once the chunk that says so has been read.</summary>
    public Conversations.Routing.ServedBy? Route { get; private set; }

    /// <summary>A conversation turn's effective truncation, once the chunk that says so has been read.</summary>
    public bool? Truncation { get; private set; }

    public async ValueTask<CompletionChunk> NextAsync()
    {
        try
        {
            if (await _chunks.MoveNextAsync())
            {
                Admission ??= _chunks.Current.Admission;
                Route ??= _chunks.Current.Route;
                Truncation ??= _chunks.Current.Truncation ?? _chunks.Current.Final?.Truncation;
                return _chunks.Current;
            }

            return CompletionChunk.Failed(ApiErrors.Unavailable("The model call ended without a result; retry the request."));
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            LogCallFailed(logger, exception);
            return CompletionChunk.Failed(ClusterFailures.ToGatewayError(exception));
        }
    }

    /// <summary>Reads to the end: the final result, or the error that ended the call.</summary>
    public async ValueTask<Result<CompletionResult>> ReadToEndAsync(CompletionChunk? current = null)
    {
        var chunk = current ?? await NextAsync();
        while (chunk.Delta is not null)
        {
            chunk = await NextAsync();
        }

        return chunk.Final is { } final ? final : (Result<CompletionResult>)chunk.Error!;
    }

    public ValueTask DisposeAsync() => _chunks.DisposeAsync();

    [LoggerMessage(Level = LogLevel.Warning, Message = "A model call failed inside the cluster")]
    private static partial void LogCallFailed(ILogger logger, Exception exception);
}
