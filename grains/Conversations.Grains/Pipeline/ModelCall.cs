using Conversations.Routing;

namespace Conversations.Grains.Pipeline;

/// <summary>
/// A model call once its route is resolved: the request, the route's plan (chat deployments only) and its grain.
/// <see cref="PromptTokens"/> is the prompt as the tokenizer counted it when routing needed it; null until then.
/// </summary>
public sealed record ModelCall(CompletionRequest Request, RoutePlan Plan, IModelRouteGrain Route, int? PromptTokens = null)
{
    /// <summary>The call with its context: the messages a conversation turn built for this plan, and what screening its retrieved text found.</summary>
    public ModelCall WithMessages(IReadOnlyList<NewItem> messages, Conversations.Guardrails.GuardrailReport? retrieved = null) =>
        this with { Request = Request with { Messages = messages, RetrievedGuardrails = retrieved }, PromptTokens = null };
}

/// <summary>The rest of the path from a stage on: the stages after it, then the model.</summary>
public delegate IAsyncEnumerable<CompletionChunk> CallStep(ModelCall call, CancellationToken cancellationToken);

/// <summary>
/// One stage of a call's path (<see cref="CallPipeline"/>): it may act on the way in (before <c>next</c>), answer
/// instead of <c>next</c>, and act on the chunks on the way out. A stage with nothing to do returns <c>next(call)</c>
/// itself, which costs the call nothing.
/// </summary>
public interface ICallStage
{
    IAsyncEnumerable<CompletionChunk> Run(ModelCall call, CallStep next, CancellationToken cancellationToken);
}
