using System.Collections.Concurrent;
using Conversations.Prompts;
using HandlebarsDotNet;

namespace Conversations.Grains.Prompts;

/// <summary>
/// Renders a prompt version with Handlebars (<c>{{name}}</c>, as OpenAI's prompts write variables): no HTML escaping, an
/// undeclared name an error, and values written as they are: a value is never parsed as a template, so a user's
/// <c>{{…}}</c> stays text. Compiled templates are kept per text, as a version never changes.
/// </summary>
public static class PromptTemplates
{
    /// <summary>The longest template text accepted (each is compiled).</summary>
    public const int MaxTemplateLength = 32_000;

    private const int MaxCompiled = 2_000;

    private static readonly IHandlebars Engine = Handlebars.Create(new HandlebarsConfiguration
    {
        NoEscape = true,
        ThrowOnUnresolvedBindingExpression = true,
    });

    private static readonly ConcurrentDictionary<string, HandlebarsTemplate<object, object>> Compiled = new(StringComparer.Ordinal);

    /// <summary>A 400 naming the field whose template does not compile or uses an undeclared variable; null when the version is sound.</summary>
    public static GatewayError? Check(PromptVersion version)
    {
        var sample = version.Variables.ToDictionary(v => v, v => "x", StringComparer.Ordinal);
        foreach (var (field, text) in Templates(version))
        {
            if (text.Length > MaxTemplateLength)
            {
                return GatewayError.Invalid($"Invalid '{field}': a template has at most {MaxTemplateLength} characters.", field, "string_above_max_length");
            }

            try
            {
                _ = Render(text, sample);
            }
            catch (Exception exception) when (IsTemplateError(exception))
            {
                return GatewayError.Invalid($"Invalid '{field}': {exception.Message} Declare every variable the template uses in 'variables'.", field, "invalid_template");
            }
        }

        return null;
    }

    /// <summary>
    /// The version rendered with <paramref name="values"/>: a 400 naming <c>prompt.variables.{name}</c> when a declared
    /// variable has no value or a value names no declared variable.
    /// </summary>
    public static Result<RenderedPrompt> Render(PromptVersion version, IReadOnlyDictionary<string, string> values)
    {
        if (version.Variables.FirstOrDefault(v => !values.ContainsKey(v)) is { } missing)
        {
            return GatewayError.Invalid($"Missing prompt variable: '{missing}'.", $"prompt.variables.{missing}", "missing_required_parameter");
        }

        if (values.Keys.FirstOrDefault(v => !version.Variables.Contains(v)) is { } extra)
        {
            return GatewayError.Invalid($"Unknown prompt variable: '{extra}'. This prompt version declares {Declared(version)}.", $"prompt.variables.{extra}", "unknown_parameter");
        }

        var context = values.ToDictionary(pair => pair.Key, pair => (object)pair.Value, StringComparer.Ordinal);
        try
        {
            return new RenderedPrompt(
                version.Number,
                version.Model,
                version.Instructions is { } instructions ? Render(instructions, context) : null,
                [.. version.Input.Select(message => message with { Content = Render(message.Content, context) })],
                version.Types);
        }
        catch (Exception exception) when (IsTemplateError(exception))
        {
            // A branch the check at creation did not take used an undeclared name.
            return GatewayError.Invalid($"Prompt version {version.Number} could not be rendered: {exception.Message}", "prompt.version", "invalid_template");
        }
    }

    private static bool IsTemplateError(Exception exception) => exception is HandlebarsException or HandlebarsDotNet.Compiler.HandlebarsUndefinedBindingException;

    private static string Render(string template, IReadOnlyDictionary<string, string> values) =>
        Render(template, values.ToDictionary(pair => pair.Key, pair => (object)pair.Value, StringComparer.Ordinal));

    private static string Render(string template, Dictionary<string, object> context)
    {
        if (Compiled.Count > MaxCompiled)
        {
            Compiled.Clear(); // a bound on memory; the templates in use compile again
        }

        return Compiled.GetOrAdd(template, text => Engine.Compile(text))(context);
    }

    private static IEnumerable<(string Field, string Text)> Templates(PromptVersion version)
    {
        if (version.Instructions is { } instructions)
        {
            yield return ("instructions", instructions);
        }

        for (var index = 0; index < version.Input.Count; index++)
        {
            yield return ($"input[{index}].content", version.Input[index].Content);
        }
    }

    private static string Declared(PromptVersion version) =>
        version.Variables.Count == 0 ? "no variables" : string.Join(", ", version.Variables.Select(v => $"'{v}'"));
}
