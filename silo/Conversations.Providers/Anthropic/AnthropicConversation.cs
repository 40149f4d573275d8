using Microsoft.Extensions.AI;

namespace Conversations.Providers.Anthropic;

/// <summary>
/// A chat history in the shape the Messages API accepts: the system messages lifted into one top-level
/// string, and the rest as turns that alternate between user and assistant.
/// </summary>
internal sealed record AnthropicConversation(string? System, IReadOnlyList<AnthropicTurn> Turns)
{
    private const string Separator = "\n\n";

    public static AnthropicConversation From(IEnumerable<ChatMessage> messages)
    {
        var system = new List<string>();
        var turns = new List<AnthropicTurn>();
        foreach (var message in messages)
        {
            if (message.Role == ChatRole.System)
            {
                system.Add(message.Text);
                continue;
            }

            // The API knows only user and assistant turns; anything else the caller sent is input to the model.
            var role = message.Role == ChatRole.Assistant ? "assistant" : "user";
            if (turns.Count > 0 && turns[^1].Role == role)
            {
                turns[^1] = turns[^1] with { Text = turns[^1].Text + Separator + message.Text };
            }
            else
            {
                turns.Add(new AnthropicTurn(role, message.Text));
            }
        }

        return new AnthropicConversation(system.Count > 0 ? string.Join(Separator, system) : null, turns);
    }
}

internal sealed record AnthropicTurn(string Role, string Text);
