using Conversations.Grains.Pipeline;

namespace Conversations.Tests.Infrastructure;

/// <summary>Model calls run through a silo's own call pipeline, so a test knows where each runs.</summary>
public static class PipelineCalls
{
    /// <summary>The call's last chunk: its result or its error.</summary>
    public static Task<CompletionChunk> Outcome(this CallPipeline pipeline, CompletionRequest request) =>
        pipeline.Complete(request, CancellationToken.None);

    /// <summary>What a test reads of a chunk, whichever of the closed set it is.</summary>
    extension(CompletionChunk chunk)
    {
        public string? Delta => (chunk as DeltaChunk)?.Text;

        public CompletionResult? Final => (chunk as FinalChunk)?.Result;

        public GatewayError? Error => (chunk as ErrorChunk)?.Error;

        public Conversations.Routing.ServedBy? Route => chunk.Info?.Route;
    }
}
