namespace Conversations.Grains.Pipeline;

// The slots of the stages still to come, in CallPipeline's order: each passes the call on untouched, at no cost.

/// <summary>Input guardrails: PII masking and redaction, injection screening, over the prompt and retrieved text. Empty today.</summary>
public sealed class InputGuardrailsStage : ICallStage
{
    public IAsyncEnumerable<CompletionChunk> Run(ModelCall call, CallStep next, CancellationToken cancellationToken) => next(call, cancellationToken);
}

/// <summary>Output guardrails: restoring masks, redacting and screening whole answers and streams. Empty today.</summary>
public sealed class OutputGuardrailsStage : ICallStage
{
    public IAsyncEnumerable<CompletionChunk> Run(ModelCall call, CallStep next, CancellationToken cancellationToken) => next(call, cancellationToken);
}
