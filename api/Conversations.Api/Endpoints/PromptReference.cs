using System.Text.Json;
using System.Text.Json.Nodes;
using Conversations.Prompts;

namespace Conversations.Api.Endpoints;

/// <summary>
/// <c>prompt: {id, version?, variables?}</c> on a response request (decision 0062): the template rendered by its grain and
/// folded into the request before it is validated like any other: the prompt's model when the request names none, its
/// instructions before the request's, its input messages before the request's input.
/// </summary>
internal static class PromptReference
{
    public static async Task<Result<ResponseCreateJson>> Apply(ResponseCreateJson body, ApiServices api)
    {
        if (body.Prompt is not { } prompt)
        {
            return body;
        }

        var media = new PromptMediaVariables();
        var rendered = await Render(prompt, api, media);
        if (!rendered.IsSuccess)
        {
            return rendered.Error;
        }

        if (media.Mismatch(prompt.Variables, rendered.Value.Types) is { } mismatch)
        {
            return mismatch;
        }

        if (media.FoundIn(rendered.Value.Instructions) is { } inInstructions)
        {
            return GatewayError.Invalid(
                $"Invalid 'prompt.variables.{inInstructions}': the prompt uses it in its instructions, which are text; an input_image or input_file variable goes in the prompt's input messages.",
                $"prompt.variables.{inInstructions}", "invalid_type");
        }

        var instructions = (rendered.Value.Instructions, body.Instructions) switch
        {
            ({ } fromPrompt, { } fromRequest) => $"{fromPrompt}\n\n{fromRequest}",
            var (fromPrompt, fromRequest) => fromPrompt ?? fromRequest,
        };
        return body with
        {
            Model = string.IsNullOrWhiteSpace(body.Model) ? rendered.Value.Model : body.Model,
            Instructions = instructions,
            Input = Input(rendered.Value.Input, body.Input, media),
        };
    }

    /// <summary>
    /// <c>prompt</c> on a chat completion (an extension field): the prompt's model when the request names none, its
    /// instructions as a system message and its messages, in front of the request's messages.
    /// </summary>
    public static async Task<Result<ChatCompletionCreateJson>> Apply(ChatCompletionCreateJson body, ApiServices api)
    {
        if (body.Prompt is not { } prompt)
        {
            return body;
        }

        var rendered = await Render(prompt, api, media: null);
        if (!rendered.IsSuccess)
        {
            return rendered.Error;
        }

        if (rendered.Value.Types?.Keys.Order(StringComparer.Ordinal).FirstOrDefault() is { } typed)
        {
            return GatewayError.Invalid(
                $"Invalid 'prompt.variables.{typed}': the prompt declares it '{rendered.Value.Types[typed]}'; image and file variables are taken by the Responses API.",
                $"prompt.variables.{typed}", "invalid_type");
        }

        List<ChatMessageJson?> messages = [];
        if (rendered.Value.Instructions is { } instructions)
        {
            messages.Add(new ChatMessageJson(Roles.System, JsonSerializer.SerializeToElement(instructions), null));
        }

        messages.AddRange(rendered.Value.Input.Select(message => new ChatMessageJson(message.Role, JsonSerializer.SerializeToElement(message.Content), null)));
        messages.AddRange(body.Messages ?? []);
        return body with { Model = string.IsNullOrWhiteSpace(body.Model) ? rendered.Value.Model : body.Model, Messages = messages };
    }

    /// <summary>The template rendered by its grain with the request's variables (a missing or extra one is a 400 naming it).</summary>
    /// <param name="media">Where <c>input_image</c> and <c>input_file</c> values go (the Responses API); without it only text values are taken.</param>
    private static async Task<Result<RenderedPrompt>> Render(PromptRefJson prompt, ApiServices api, PromptMediaVariables? media)
    {
        if (prompt.Id is null)
        {
            return GatewayError.Invalid("Missing required parameter: 'prompt.id'.", "prompt.id", "missing_required_parameter");
        }

        if (!Ids.IsValid(prompt.Id, Ids.Prompt))
        {
            return GatewayError.NotFound("prompt", prompt.Id, "prompt.id");
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in prompt.Variables ?? [])
        {
            string? marker = null;
            if (media is not null)
            {
                var added = media.Add(name, value);
                if (!added.IsSuccess)
                {
                    return added.Error;
                }

                marker = added.Value;
            }

            if ((marker ?? Text(value)) is not { } text)
            {
                return GatewayError.Invalid(
                    media is null
                        ? $"Invalid 'prompt.variables.{name}': expected a string or an input_text part (input_image and input_file variables are taken by the Responses API)."
                        : $"Invalid 'prompt.variables.{name}': expected a string, or an input_text, input_image or input_file part.",
                    $"prompt.variables.{name}", "invalid_type");
            }

            values[name] = text;
        }

        return await api.Grains.GetGrain<IPromptGrain>(GrainKeys.For(api.Tenant, prompt.Id)).Render(prompt.Version, values);
    }

    private static string? Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Object when value.TryGetProperty("type", out var type) && type.ValueEquals("input_text")
            && value.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String => text.GetString(),
        _ => null,
    };

    /// <summary>The prompt's messages, then the request's input (a string is one user message).</summary>
    private static JsonElement? Input(IReadOnlyList<PromptMessage> messages, JsonElement? input, PromptMediaVariables media)
    {
        if (messages.Count == 0)
        {
            return input;
        }

        var items = new JsonArray();
        foreach (var message in messages)
        {
            items.Add(new JsonObject { ["type"] = "message", ["role"] = message.Role, ["content"] = media.Content(message.Content) });
        }

        if (input is { ValueKind: JsonValueKind.String } single)
        {
            items.Add(new JsonObject { ["type"] = "message", ["role"] = Roles.User, ["content"] = single.GetString() });
        }
        else if (input is { ValueKind: JsonValueKind.Array } array)
        {
            foreach (var item in array.EnumerateArray())
            {
                items.Add(JsonNode.Parse(item.GetRawText()));
            }
        }

        return JsonSerializer.SerializeToElement(items);
    }
}
