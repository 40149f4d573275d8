using System.Text.Json;
using Conversations.Media;
using Microsoft.Extensions.AI;

namespace Conversations.Providers.Anthropic;

/// <summary>
/// A chat history in the shape the Messages API accepts: the system messages lifted into one top-level
/// string, and the rest as turns that alternate between user and assistant. A model's function calls
/// are <c>tool_use</c> blocks of its turn; their outputs are <c>tool_result</c> blocks at the head of
/// the next user turn, as the API requires. Images are <c>image</c> blocks and files <c>document</c> blocks, each with its
/// <c>source</c>: base64 bytes, a PDF's or a text file's, or an image's URL (passed on, never fetched by the gateway).
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
                    case DataContent data when data.HasTopLevelMediaType("image"):
                        blocks.Add(new AnthropicBlock("image", MediaType: data.MediaType, Data: data.Base64Data.ToString()));
                        break;
                    case DataContent data when data.MediaType == MediaSniffer.PlainText:
                        blocks.Add(new AnthropicBlock("document", MediaType: data.MediaType, Text: global::System.Text.Encoding.UTF8.GetString(data.Data.Span), Name: data.Name));
                        break;
                    case DataContent data when !data.HasTopLevelMediaType("audio"):
                        blocks.Add(new AnthropicBlock("document", MediaType: data.MediaType, Data: data.Base64Data.ToString(), Name: data.Name));
                        break;
                    case UriContent uri when uri.HasTopLevelMediaType("image"):
                        blocks.Add(new AnthropicBlock("image", Url: uri.Uri.ToString()));
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
                case "image" or "document":
                    WriteSource(json, block);
                    break;
                default:
                    json.WriteString("text", block.Text);
                    break;
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    /// <summary>An image's or document's <c>source</c> (and a document's <c>title</c>, its file name).</summary>
    private static void WriteSource(Utf8JsonWriter json, AnthropicBlock block)
    {
        json.WriteStartObject("source");
        if (block.Url is { } url)
        {
            json.WriteString("type", "url");
            json.WriteString("url", url);
        }
        else
        {
            json.WriteString("type", block.Data is null ? "text" : "base64");
            json.WriteString("media_type", block.MediaType);
            json.WriteString("data", block.Data ?? block.Text);
        }

        json.WriteEndObject();
        if (block.Type == "document" && block.Name is { Length: > 0 } title)
        {
            json.WriteString("title", title);
        }
    }
}

internal sealed record AnthropicBlock(
    string Type, string? Text = null, string? Id = null, string? Name = null, string? Input = null, string? MediaType = null, string? Data = null, string? Url = null);
