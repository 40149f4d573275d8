using System.ClientModel;
using System.Runtime.CompilerServices;
using System.Text;
using Conversations.Providers;
using Conversations.Tenancy;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains;

/// <summary>
/// The path every model call takes inside a silo, stateless or stateful: resolve the model, call
/// its provider, stream the deltas, and end with the result or an error the API can map. Provider
/// failures become <see cref="GatewayError"/> values, never exceptions that cross a grain boundary.
/// </summary>
public sealed partial class ChatPipeline(ModelCatalog catalog, TokenCounter tokens, IGrainFactory grains, ILogger<ChatPipeline> logger)
{
    public async IAsyncEnumerable<CompletionChunk> Run(CompletionRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (catalog.Find(request.Model) is not { } model || request.Caller?.MayUseModel(request.Model) == false)
        {
            yield return CompletionChunk.Failed(new GatewayError(
                404, "invalid_request_error", "model_not_found", $"The model '{request.Model}' does not exist or you do not have access to it.", "model"));
            yield break;
        }

        if (request.Caller is not { } caller)
        {
            await foreach (var chunk in Call(model, request, cancellationToken))
            {
                if (chunk.Delta is null || request.StreamDeltas)
                {
                    yield return chunk;
                }
            }

            yield break;
        }

        // Admission: reserve the prompt (counted with the tokenizer) plus the requested maximum output.
        // A caller with no limits anywhere has nothing to admit: no tokenizing, no round trip; settling still records its usage.
        var quota = grains.GetGrain<ITenantQuotaGrain>(caller.Tenant);
        var leaseId = Guid.NewGuid().ToString("N");
        int? promptTokens = null;
        int Prompt() => promptTokens ??= tokens.CountPrompt(request.Messages.Select(m => m.Text));
        var admitted = caller.HasNoLimits ? new Admission(null, null) : await quota.Admit(Reservation(leaseId, caller, request, model, Prompt()));
        if (!admitted.IsSuccess)
        {
            yield return CompletionChunk.Failed(admitted.Error);
            yield break;
        }

        var settled = false;
        var streamed = 0;
        Admission? admission = admitted.Value; // rides on the first chunk: a separate element would cost a grain round trip
        try
        {
            await foreach (var chunk in Call(model, request, cancellationToken))
            {
                if (chunk.Final is { } final)
                {
                    // Settle before the caller sees the result, so usage is recorded once the client has it.
                    var cost = model.Deployment.Prices.Cost(final.Usage.InputTokens, final.Usage.OutputTokens);
                    await quota.Settle(leaseId, caller, request.EndUser, model.Name, final.Usage, cost);
                    settled = true;
                    yield return chunk with { Final = final with { CostUsd = cost }, Admission = admission };
                    continue;
                }

                streamed += chunk.Delta is null ? 0 : 1;
                if (chunk.Delta is null || request.StreamDeltas)
                {
                    yield return chunk with { Admission = admission };
                    admission = null;
                }
            }
        }
        finally
        {
            if (!settled)
            {
                // Failed, cut or abandoned: free the slot on every path, charging what the provider evidently processed.
                var used = streamed == 0 ? new TokenUsage(0, 0) : new TokenUsage(Prompt(), streamed);
                await quota.Settle(leaseId, caller, request.EndUser, model.Name, used, model.Deployment.Prices.Cost(used.InputTokens, used.OutputTokens));
            }
        }
    }

    private static AdmissionRequest Reservation(string leaseId, Caller caller, CompletionRequest request, ServedModel model, int prompt)
    {
        var maxOutput = request.MaxOutputTokens ?? model.Deployment.MaxOutputTokens;
        var estimate = (int)Math.Min(int.MaxValue, (long)prompt + maxOutput);
        return new AdmissionRequest(leaseId, caller, request.EndUser, estimate, model.Deployment.Prices.Cost(prompt, maxOutput));
    }

    private async IAsyncEnumerable<CompletionChunk> Call(ServedModel model, CompletionRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var options = new ChatOptions
        {
            Temperature = request.Temperature,
            TopP = request.TopP,
            MaxOutputTokens = request.MaxOutputTokens,
        };
        if (!request.StreamDeltas)
        {
            // The client waits for the whole answer: one plain upstream call, no stream to parse.
            yield return await CallOnce(model, request, options, cancellationToken);
            yield break;
        }

        var text = new StringBuilder();
        UsageDetails? usage = null;
        ChatFinishReason? finishReason = null;

        await using var updates = model.Client
            .GetStreamingResponseAsync(request.Messages.Select(ToChatMessage), options, cancellationToken)
            .GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            GatewayError? failure = null;
            var hasNext = false;
            try
            {
                hasNext = await updates.MoveNextAsync();
            }
            catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
            {
                failure = ToGatewayError(exception);
                LogProviderFailure(exception, model.Name, failure.Status);
            }

            if (failure is not null)
            {
                yield return CompletionChunk.Failed(failure);
                yield break;
            }

            if (!hasNext)
            {
                break;
            }

            var update = updates.Current;
            finishReason = update.FinishReason ?? finishReason;
            foreach (var content in update.Contents)
            {
                if (content is UsageContent usageContent)
                {
                    usage = usageContent.Details;
                }
            }

            var delta = update.Text;
            if (delta.Length > 0)
            {
                text.Append(delta);
                yield return CompletionChunk.Text(delta);
            }
        }

        if (finishReason is null)
        {
            // Every provider ends a complete answer with a finish reason; a stream without one was cut.
            LogTruncatedStream(model.Name);
            yield return CompletionChunk.Failed(GatewayError.Upstream(502, "The model provider ended the stream before the answer was complete."));
            yield break;
        }

        var output = text.ToString();
        yield return CompletionChunk.Done(new CompletionResult(
            output,
            FinishReasonName(finishReason),
            ToUsage(usage, request, output),
            model.Name));
    }

    private async Task<CompletionChunk> CallOnce(ServedModel model, CompletionRequest request, ChatOptions options, CancellationToken cancellationToken)
    {
        try
        {
            var response = await model.Client.GetResponseAsync(request.Messages.Select(ToChatMessage), options, cancellationToken);
            var text = response.Text;
            return CompletionChunk.Done(new CompletionResult(text, FinishReasonName(response.FinishReason), ToUsage(response.Usage, request, text), model.Name));
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            var failure = ToGatewayError(exception);
            LogProviderFailure(exception, model.Name, failure.Status);
            return CompletionChunk.Failed(failure);
        }
    }

    /// <summary>Provider-reported usage wins; a provider that reports none is counted with the tokenizer.</summary>
    private TokenUsage ToUsage(UsageDetails? usage, CompletionRequest request, string output) => new(
        (int?)usage?.InputTokenCount ?? tokens.CountPrompt(request.Messages.Select(m => m.Text)),
        (int?)usage?.OutputTokenCount ?? tokens.Count(output));

    private static ChatMessage ToChatMessage(NewItem item) => new(
        item.Role switch
        {
            Roles.Assistant => ChatRole.Assistant,
            Roles.System or Roles.Developer => ChatRole.System,
            _ => ChatRole.User,
        },
        item.Text);

    private static string FinishReasonName(ChatFinishReason? reason) =>
        reason == ChatFinishReason.Length ? "length"
        : reason == ChatFinishReason.ContentFilter ? "content_filter"
        : reason == ChatFinishReason.ToolCalls ? "tool_calls"
        : "stop";

    private static GatewayError ToGatewayError(Exception exception) => exception switch
    {
        ProviderException provider => GatewayError.Upstream(provider.Status, provider.Message),
        ClientResultException client => GatewayError.Upstream(client.Status, "The model provider returned an error."),
        HttpRequestException => GatewayError.Upstream(502, "The model provider could not be reached."),
        TimeoutException or OperationCanceledException => new GatewayError(504, "upstream_error", "upstream_timeout", "The model provider did not answer in time."),
        _ => GatewayError.Upstream(502, "The model provider failed."),
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model {Model} ended its stream without a finish reason")]
    private partial void LogTruncatedStream(string model);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model {Model} failed; answering {Status}")]
    private partial void LogProviderFailure(Exception exception, string model, int status);
}
