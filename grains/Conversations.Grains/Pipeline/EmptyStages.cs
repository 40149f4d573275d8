namespace Conversations.Grains.Pipeline;

// The slots of the stages still to come, in CallPipeline's order: each passes the call on untouched, at no cost.

/// <summary>The response cache: a lookup keyed by the context actually sent, and the store of complete answers. Empty today.</summary>
public sealed class CacheStage : ICallStage
{
    public IAsyncEnumerable<CompletionChunk> Run(ModelCall call, CallStep next, CancellationToken cancellationToken) => next(call, cancellationToken);
}
