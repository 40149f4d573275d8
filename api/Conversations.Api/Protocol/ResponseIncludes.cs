using System.Text.Json;

namespace Conversations.Api;

/// <summary>
/// A response request's <c>include</c>: the extra output OpenAI documents (its <c>IncludeEnum</c>). Every documented value is
/// accepted; what it asks for is given where this gateway has it (see docs/api.md), and an unknown value is a 400 naming <c>include</c>.
/// </summary>
public static class ResponseIncludes
{
    /// <summary>Asks for the answer's log probabilities, in its <c>output_text</c> part and in each streamed text delta.</summary>
    public const string OutputTextLogprobs = "message.output_text.logprobs";

    /// <summary>The values OpenAI's OpenAPI document lists for <c>include</c>.</summary>
    public static readonly IReadOnlySet<string> Documented = new HashSet<string>(StringComparer.Ordinal)
    {
        "file_search_call.results",
        "web_search_call.results",
        "web_search_call.action.sources",
        "message.input_image.image_url",
        "computer_call_output.output.image_url",
        "code_interpreter_call.outputs",
        "reasoning.encrypted_content",
        OutputTextLogprobs,
    };

    public static Result<IReadOnlyList<string>> Read(JsonElement? include)
    {
        if (include is not { } value || value.ValueKind == JsonValueKind.Null)
        {
            return Array.Empty<string>();
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            return GatewayError.Invalid("Invalid type for 'include': expected an array of strings.", "include", "invalid_type");
        }

        var values = new List<string>();
        foreach (var (entry, index) in value.EnumerateArray().Select((entry, index) => (entry, index)))
        {
            if (entry.ValueKind != JsonValueKind.String)
            {
                return GatewayError.Invalid($"Invalid type for 'include[{index}]': expected a string.", $"include[{index}]", "invalid_type");
            }

            var name = entry.GetString()!;
            if (!Documented.Contains(name))
            {
                return GatewayError.Invalid(
                    $"Invalid value for 'include[{index}]': '{name}'. Supported values are: {string.Join(", ", Documented.Select(d => $"'{d}'"))}.",
                    "include", "invalid_value");
            }

            values.Add(name);
        }

        return values;
    }
}
