using Conversations.Grains;

namespace Conversations.Tests.Infrastructure;

/// <summary>Model calls run through a silo's own chat pipeline, so a test knows where each runs.</summary>
public static class PipelineCalls
{
    /// <summary>The call's last chunk: its result or its error.</summary>
    public static async Task<CompletionChunk> Outcome(this ChatPipeline pipeline, CompletionRequest request)
    {
        CompletionChunk last = null!;
        await foreach (var chunk in pipeline.Run(request, CancellationToken.None))
        {
            last = chunk;
        }

        return last;
    }
}
