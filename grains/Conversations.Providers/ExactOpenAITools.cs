using Microsoft.Extensions.AI;
using OpenAI.Chat;

namespace Conversations.Providers;

/// <summary>
/// Sends the client's function tools to an OpenAI-compatible deployment as written: each schema's
/// exact JSON and its <c>strict</c>. Microsoft.Extensions.AI's OpenAI adapter would otherwise round-trip
/// every schema through a model that writes <c>additionalProperties: false</c> where the client said
/// nothing (and fails on a schema-valued <c>additionalProperties</c>), and rewrite strict schemas.
/// The tools move from the chat options into the raw OpenAI options, with the tool choice and
/// <c>parallel_tool_calls</c>; a raw factory already set (the exact response format) is kept.
/// </summary>
public sealed class ExactOpenAITools(IChatClient inner) : DelegatingChatClient(inner)
{
    public override Task<ChatResponse> GetResponseAsync(IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        base.GetResponseAsync(messages, Exact(options), cancellationToken);

    public override IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        base.GetStreamingResponseAsync(messages, Exact(options), cancellationToken);

    private static ChatOptions? Exact(ChatOptions? options)
    {
        if (options?.Tools is not { Count: > 0 } tools)
        {
            return options;
        }

        var (mode, parallel, rawFactory) = (options.ToolMode, options.AllowMultipleToolCalls, options.RawRepresentationFactory);
        List<AITool> others = [.. tools.Where(tool => tool is not DeclaredFunction)]; // any other kind stays with M.E.AI
        var exact = options.Clone();
        exact.Tools = others.Count > 0 ? others : null;
        if (others.Count == 0)
        {
            exact.ToolMode = null;
            exact.AllowMultipleToolCalls = null;
        }

        exact.RawRepresentationFactory = client =>
        {
            var raw = rawFactory?.Invoke(client) as ChatCompletionOptions ?? new ChatCompletionOptions();
            foreach (var tool in tools.OfType<DeclaredFunction>())
            {
                raw.Tools.Add(ChatTool.CreateFunctionTool(
                    tool.Name, tool.Definition.Description, BinaryData.FromString(tool.JsonSchema.GetRawText()), tool.Definition.Strict));
            }

            raw.ToolChoice = mode switch
            {
                RequiredChatToolMode { RequiredFunctionName: { } name } => ChatToolChoice.CreateFunctionChoice(name),
                RequiredChatToolMode => ChatToolChoice.CreateRequiredChoice(),
                NoneChatToolMode => ChatToolChoice.CreateNoneChoice(),
                AutoChatToolMode => ChatToolChoice.CreateAutoChoice(),
                _ => null,
            };
            raw.AllowParallelToolCalls = parallel;
            return raw;
        };
        return exact;
    }
}

/// <summary>A client's function tool as Microsoft.Extensions.AI declares it, keeping the definition it came from.</summary>
public sealed class DeclaredFunction(ToolDefinition definition, System.Text.Json.JsonElement schema) : AIFunctionDeclaration
{
    public ToolDefinition Definition => definition;

    public override string Name => definition.Name;

    public override string Description => definition.Description ?? string.Empty;

    public override System.Text.Json.JsonElement JsonSchema => schema;
}
