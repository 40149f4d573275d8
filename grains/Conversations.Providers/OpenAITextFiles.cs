using Conversations.Media;
using Microsoft.Extensions.AI;

namespace Conversations.Providers;

/// <summary>
/// Text files for OpenAI-compatible deployments: OpenAI's <c>file</c> part takes PDFs, and its client drops any other file
/// silently, so a text file is sent as a text part holding its name and contents instead. Other contents pass unchanged.
/// </summary>
public sealed class OpenAITextFiles(IChatClient inner) : DelegatingChatClient(inner)
{
    public override Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        base.GetResponseAsync(AsText(messages), options, cancellationToken);

    public override IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        base.GetStreamingResponseAsync(AsText(messages), options, cancellationToken);

    private static IEnumerable<ChatMessage> AsText(IEnumerable<ChatMessage> messages) => messages.Select(message =>
        !message.Contents.Any(IsTextFile) ? message : new ChatMessage(message.Role, [.. message.Contents.Select(content => IsTextFile(content)
            ? new TextContent($"{((DataContent)content).Name ?? "file"}:\n{System.Text.Encoding.UTF8.GetString(((DataContent)content).Data.Span)}")
            : content)]) { AuthorName = message.AuthorName, MessageId = message.MessageId });

    private static bool IsTextFile(AIContent content) => content is DataContent { MediaType: MediaSniffer.PlainText };
}
