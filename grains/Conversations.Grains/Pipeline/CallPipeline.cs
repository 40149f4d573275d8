using Conversations.Grains.Routing;

namespace Conversations.Grains.Pipeline;

/// <summary>
/// The path every model call takes inside a silo, stateless call or conversation turn, as named stages in the order a
/// call passes them (docs/architecture.md):
/// <list type="number">
/// <item><see cref="Plan"/>: resolve the route (<see cref="RouteStage"/>);</item>
/// <item>build the context: a turn's, by its conversation grain, for the plan's windows (<see cref="ModelCall.WithMessages"/>);</item>
/// <item><see cref="Run"/>: the stages of <see cref="_stages"/>, each on the way in top to bottom, then on the way out
/// bottom to top, around the model call (<see cref="ModelStage"/>);</item>
/// <item>persist: a turn's items, by its conversation grain, once it has the final chunk.</item>
/// </list>
/// Failures are <see cref="ErrorChunk"/>s, never exceptions that cross a grain boundary.
/// </summary>
public sealed class CallPipeline
{
    private readonly RouteStage _route;
    private readonly ICallStage[] _stages;
    private readonly CallStep _run;

    public CallPipeline(RouteStage route, AuditStage audit, InputGuardrailsStage input, CacheStage cache, AdmissionStage admission, OutputGuardrailsStage output, ModelStage model)
    {
        _route = route;
        _stages =
        [
            audit,     // out: queue the call's audit record, with what every stage below did
            input,     // in: screen and mask the prompt; out: restore masks (outside the cache, which keeps masked answers)
            cache,     // in: answer from the cache; out: store a complete answer
            admission, // in: admit against the tenant's quotas; out: settle usage and cost
            output,    // out: screen the answer
        ];
        _run = model.Run;
        foreach (var stage in _stages.Reverse())
        {
            var next = _run;
            _run = (call, cancellationToken) => stage.Run(call, next, cancellationToken);
        }
    }

    /// <summary>The stages between the route and the model, in order.</summary>
    public IReadOnlyList<ICallStage> Stages => _stages;

    /// <summary>
    /// Resolves the call's route: a plan of chat deployments, or why the call cannot be made. A turn names the images, files
    /// and audio of its new input in <paramref name="parts"/>: its messages are built after the plan.
    /// </summary>
    public ValueTask<Result<ModelCall>> Plan(CompletionRequest request, IEnumerable<Conversations.Media.ContentPart>? parts = null) => _route.Resolve(request, parts);

    /// <summary>Runs a planned call through the stages and the model.</summary>
    public IAsyncEnumerable<CompletionChunk> Run(ModelCall call, CancellationToken cancellationToken) => _run(call, cancellationToken);

    /// <summary>A call whose messages are complete (a stateless call, a background summary): planned, then run.</summary>
    public async IAsyncEnumerable<CompletionChunk> Run(CompletionRequest request, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var planned = await Plan(request);
        if (!planned.IsSuccess)
        {
            yield return new ErrorChunk(planned.Error);
            yield break;
        }

        await foreach (var chunk in Run(planned.Value, cancellationToken))
        {
            yield return chunk;
        }
    }

    /// <summary>A call that waits for the whole answer (a background summary or extraction): its last chunk.</summary>
    public async Task<CompletionChunk> Complete(CompletionRequest request, CancellationToken cancellationToken)
    {
        CompletionChunk? last = null;
        await foreach (var chunk in Run(request, cancellationToken))
        {
            last = chunk;
        }

        return last ?? new ErrorChunk(new GatewayError(503, "server_error", "incomplete_call", "The model call ended without a result."));
    }
}
