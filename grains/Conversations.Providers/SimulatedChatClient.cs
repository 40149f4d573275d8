using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace Conversations.Providers;

/// <summary>The simulated model as an in-process <see cref="IChatClient"/>.</summary>
public sealed class SimulatedChatClient(string model, SimulatedModel simulation) : IChatClient
{
    /// <summary>The provider name on the simulated model's <c>gen_ai</c> spans and metrics.</summary>
    public const string ProviderName = "conversations.simulated";

    private readonly ChatClientMetadata _metadata = new(ProviderName, defaultModelId: model);

    public async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in GetStreamingResponseAsync(messages, options, cancellationToken))
        {
            updates.Add(update);
        }

        var response = updates.ToChatResponse();
        if (Logprobs.Asked(options, this) is not null)
        {
            (response.AdditionalProperties ??= [])[Logprobs.Key] = updates.SelectMany(u => Logprobs.Of(u) ?? []).ToList();
        }

        return response;
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var reply = simulation.Reply(
            model, [.. messages.Select(m => (m.Role.Value, ChatMessages.Text(m)))],
            tools: options?.Tools?.Select(t => t.Name).ToHashSet(StringComparer.Ordinal), json: options?.ResponseFormat is ChatResponseFormatJson,
            received: [.. messages.LastOrDefault(m => m.Role == ChatRole.User) is { } last ? ChatMessages.Attachments(last) : []]);
        var responseId = "chatcmpl-" + Guid.NewGuid().ToString("N");
        var top = Logprobs.Asked(options, this);
        var sent = 0;
        await foreach (var piece in simulation.Stream(reply, cancellationToken))
        {
            if (reply.Limit(options?.MaxOutputTokens) is { } max && sent >= max)
            {
                yield return Final(responseId, ChatFinishReason.Length, reply.PromptTokens, sent);
                yield break;
            }

            sent++;
            yield return new ChatResponseUpdate(ChatRole.Assistant, piece)
            {
                ResponseId = responseId,
                ModelId = model,
                AdditionalProperties = top is { } count ? new() { [Logprobs.Key] = new[] { Logprobs.Simulated(piece, count) } } : null,
            };
        }

        if (reply.Calls.Count > 0)
        {
            yield return new ChatResponseUpdate(
                ChatRole.Assistant, [.. reply.Calls.Select(c => (AIContent)new FunctionCallContent("call_" + Guid.NewGuid().ToString("N")[..24], c.Name, ChatMessages.Arguments(c.Arguments)))])
            {
                ResponseId = responseId,
                ModelId = model,
            };
            yield return Final(responseId, ChatFinishReason.ToolCalls, reply.PromptTokens, reply.CompletionTokens);
            yield break;
        }

        yield return Final(responseId, ChatFinishReason.Stop, reply.PromptTokens, sent);
    }

    private ChatResponseUpdate Final(string responseId, ChatFinishReason reason, int promptTokens, int completionTokens) =>
        new(ChatRole.Assistant, [new UsageContent(new UsageDetails
        {
            InputTokenCount = promptTokens,
            OutputTokenCount = completionTokens,
            TotalTokenCount = promptTokens + completionTokens,
        })])
        {
            ResponseId = responseId,
            ModelId = model,
            FinishReason = reason,
        };

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? _metadata
        : serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}
