using Conversations.Grains.Routing;

namespace Conversations.Grains.Pipeline;

/// <summary>The last stage: the model call along the route's plan, with retries, fallback and circuits (<see cref="ModelRouter"/>).</summary>
public sealed class ModelStage(ModelRouter router)
{
    public IAsyncEnumerable<CompletionChunk> Run(ModelCall call, CancellationToken cancellationToken) =>
        router.Run(call.Plan, call.Route, call.Request, cancellationToken);
}
