using System.Runtime.CompilerServices;
using Conversations.Context;
using Conversations.Grains.Context;
using Conversations.Grains.Memory;
using Conversations.Memory;
using Conversations.Routing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains;

/// <summary>
/// Stateless model calls (chat completions, responses without a conversation, embeddings), run in this
/// silo: a response may first be grounded in the tenant's knowledge bases, then it takes the call
/// pipeline. Used directly by an API hosted in the silo, and by inference lanes for API-only processes.
/// </summary>
public sealed partial class StatelessInference(
    Pipeline.CallPipeline pipeline, Routing.EmbeddingPipeline embeddings, IVectorStore vectors,
    IEmbeddingGenerator<string, Embedding<float>> embedder, ContextBuilder builder, Providers.TokenCounter tokens, ILogger<StatelessInference> logger)
    : IStatelessInference
{
    public async IAsyncEnumerable<CompletionChunk> Complete(CompletionRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        (request, var cited) = await Grounded(request, cancellationToken);
        request = await FitWindow(request);
        await foreach (var chunk in pipeline.Run(request, cancellationToken))
        {
            yield return cited.Count > 0 && chunk is FinalChunk ? chunk.With(info => info with { Citations = cited }) : chunk;
        }
    }

    public Task<EmbeddingOutcome> Embed(EmbeddingRequest request) => embeddings.Run(request);

    public async Task<IReadOnlyList<VectorMatch>> Search(string tenant, IReadOnlyList<string> scopes, string query, int top)
    {
        var vector = (await embedder.GenerateAsync([query]))[0].Vector.ToArray();
        var found = await Task.WhenAll(scopes.Select(scope => vectors.Search(tenant, scope, vector, top, 0)));
        return [.. found.SelectMany(m => m).OrderByDescending(m => m.Score).Take(top)];
    }

    public async Task<Result<int>> CountInputTokens(CompletionRequest request, CancellationToken cancellationToken = default)
    {
        var planned = await pipeline.Plan(request);
        if (!planned.IsSuccess)
        {
            return planned.Error;
        }

        (request, _) = await Grounded(request, cancellationToken);
        var counted = tokens.CountPrompt((await FitWindow(request)).PromptTexts);
        var deployments = planned.Value.Plan.Deployments;
        return deployments.Count > 0 && deployments.All(d => (long)counted + (request.MaxOutputTokens ?? 0) > d.ContextWindow)
            ? Routing.RouteSelector.NothingFits(request.Model, new PlanRequest(null, counted, request.MaxOutputTokens, false)) with { Param = "input" }
            : counted;
    }

    /// <summary>
    /// With <see cref="CompletionRequest.DropOldestToFit"/> (<c>truncation: "auto"</c>), the messages that fit the largest window of
    /// the model's deployments beside the answer (<see cref="WindowFit"/>); the request as it is otherwise, or when the route cannot be planned.
    /// </summary>
    private async Task<CompletionRequest> FitWindow(CompletionRequest request)
    {
        if (!request.DropOldestToFit || request.Messages.Count < 2)
        {
            return request;
        }

        var planned = await pipeline.Plan(request with { Messages = [] }); // no prompt: every deployment, whatever its window
        if (!planned.IsSuccess || planned.Value.Plan.Deployments.Count == 0)
        {
            return request; // the call itself says why
        }

        var budget = ContextBudget.For(planned.Value.Plan.Deployments, request.MaxOutputTokens, new ContextPolicy());
        var framing = tokens.CountPrompt(request.ToolTexts);
        var fitted = WindowFit.Fit(request.Messages, budget, m => tokens.CountPrompt([m.CountedText]) - tokens.CountPrompt([]), framing);
        return ReferenceEquals(fitted, request.Messages) ? request : request with { Messages = fitted };
    }

    public Task<CompletionChunk> Compact(CompletionRequest request, CancellationToken cancellationToken = default)
    {
        var transcript = request.Messages.Select(m => new ConversationItem(string.Empty, m.Role, m.Text, 0, DateTimeOffset.UnixEpoch, null, m.Call, m.CallId));
        return pipeline.Complete(request with { Messages = Context.Summaries.Prompt(null, transcript), StreamDeltas = false }, cancellationToken);
    }

    /// <summary>The request grounded in the tenant's knowledge bases when its policy retrieves, and the chunks it cites. A failure finds nothing.</summary>
    private async Task<(CompletionRequest Request, IReadOnlyList<string> Cited)> Grounded(CompletionRequest request, CancellationToken cancellationToken)
    {
        if (request.Knowledge?.Over(request.Caller?.TenantContextPolicy).Over(ContextPolicy.Default) is { Retrieves: true } policy
            && request.Caller is { } caller && caller.MayUseModel(request.Model))
        {
            try
            {
                var (messages, cited, screened) = await KnowledgeRetrieval.Ground(request, policy, vectors, embedder, builder, cancellationToken);
                return (request with { Messages = messages, RetrievedGuardrails = screened }, cited);
            }
            catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
            {
                LogRetrievalFailed(exception);
            }
        }

        return (request, []);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retrieval for a stateless call failed; the call goes on without it")]
    private partial void LogRetrievalFailed(Exception exception);
}
