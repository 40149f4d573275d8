using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Conversations.Providers.Anthropic;

/// <summary>
/// A chat history in the shape the Messages API accepts: the system messages lifted into one top-level
/// string, and the rest as turns that alternate between user and assistant. A model's function calls
/// are <c>tool_use</c> blocks of its turn; their outputs are <c>tool_result</c> blocks at the head of
/// the next user turn, as the API requires.
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

            // The API knows only user and assistant turns; tool outputs and anything else the caller sent are input to the model.
            var role = message.Role == ChatRole.Assistant ? "assistant" : "user";
            if (turns.Count == 0 || turns[^1].Role != role)
            {
                turns.Add(new AnthropicTurn(role, []));
            }

            var blocks = turns[^1].Blocks;
            foreach (var content in message.Contents)
            {
                switch (content)
                {
                    case TextContent { Text.Length: > 0 } text when blocks.Count > 0 && blocks[^1].Type == "text":
                        blocks[^1] = blocks[^1] with { Text = blocks[^1].Text + Separator + text.Text };
                        break;
                    case TextContent { Text.Length: > 0 } text:
                        blocks.Add(new AnthropicBlock("text", Text: text.Text));
                        break;
                    case FunctionCallContent call:
                        blocks.Add(new AnthropicBlock("tool_use", Id: call.CallId, Name: call.Name,
                            Input: JsonSerializer.Serialize(call.Arguments ?? new Dictionary<string, object?>(), ChatMessages.Compact)));
                        break;
                    case FunctionResultContent result:
                        // Results lead the user turn that follows the calls.
                        blocks.Insert(blocks.TakeWhile(b => b.Type == "tool_result").Count(),
                            new AnthropicBlock("tool_result", Text: result.Result?.ToString() ?? string.Empty, Id: result.CallId));
                        break;
                }
            }
        }

        return new AnthropicConversation(system.Count > 0 ? string.Join(Separator, system) : null, turns);
    }
}

/// <summary>One turn: a role and its content blocks (text, tool_use, tool_result).</summary>
internal sealed record AnthropicTurn(string Role, List<AnthropicBlock> Blocks)
{
    /// <summary>A turn of text alone is sent as a plain string, as most clients do.</summary>
    public string? PlainText => Blocks.All(b => b.Type == "text") ? string.Join("\n\n", Blocks.Select(b => b.Text)) : null;

    public void WriteContent(Utf8JsonWriter json)
    {
        if (PlainText is { } text)
        {
            json.WriteString("content", text);
            return;
        }

        json.WriteStartArray("content");
        foreach (var block in Blocks)
        {
            json.WriteStartObject();
            json.WriteString("type", block.Type);
            switch (block.Type)
            {
                case "tool_use":
                    json.WriteString("id", block.Id);
                    json.WriteString("name", block.Name);
                    json.WritePropertyName("input");
                    json.WriteRawValue(block.Input ?? "{}");
                    break;
                case "tool_result":
                    json.WriteString("tool_use_id", block.Id);
                    json.WriteString("content", block.Text);
                    break;
                default:
                    json.WriteString("text", block.Text);
                    break;
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
    }
}

internal sealed record AnthropicBlock(string Type, string? Text = null, string? Id = null, string? Name = null, string? Input = null);
