using System.Runtime.CompilerServices;
using Conversations.Grains.Media;
using Conversations.Grains.Routing;

namespace Conversations.Grains.Pipeline;

/// <summary>
/// The last stage: the model call along the route's plan, with retries, fallback and circuits (<see cref="ModelRouter"/>).
/// A call whose images or files are references (stored items, files sent by id) has their bytes loaded first (<see cref="MediaLoading"/>).
/// </summary>
public sealed class ModelStage(ModelRouter router, IGrainFactory grains)
{
    public IAsyncEnumerable<CompletionChunk> Run(ModelCall call, CancellationToken cancellationToken) =>
        call.Request.Messages.Any(m => m.Parts is { Count: > 0 })
            ? WithMedia(call, cancellationToken)
            : router.Run(call.Plan, call.Route, call.Request, cancellationToken);

    private async IAsyncEnumerable<CompletionChunk> WithMedia(ModelCall call, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var request = await MediaLoading.Load(call.Request, grains);
        await foreach (var chunk in router.Run(call.Plan, call.Route, request, cancellationToken))
        {
            yield return chunk;
        }
    }
}
