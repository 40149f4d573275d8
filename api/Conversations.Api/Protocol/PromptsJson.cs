using Conversations.Prompts;

namespace Conversations.Api;

/// <summary>A prompt version as the admin API takes it: templates with <c>{{variables}}</c>, the declared variables and their types, a default model.</summary>
public sealed record PromptVersionJson(string? Model, string? Instructions, IReadOnlyList<PromptMessageJson>? Input, Dictionary<string, string>? Variables);

public sealed record PromptMessageJson(string? Role, string? Content);

/// <summary>The body of <c>PUT …/prompts/{id}/labels/{label}</c>.</summary>
public sealed record PromptLabelJson(int? Version);

/// <summary>A prompt: every version, and the labels that point at them.</summary>
public sealed record PromptJson(string Id, IReadOnlyList<PromptVersionViewJson> Versions, IReadOnlyDictionary<string, int> Labels)
{
    public string Object => "prompt";

    public static PromptJson From(PromptView view) => new(view.Id, [.. view.Versions.Select(PromptVersionViewJson.From)], view.Labels);
}

public sealed record PromptVersionViewJson(
    string Version, string? Model, string? Instructions, IReadOnlyList<PromptMessageJson> Input, IReadOnlyDictionary<string, string> Variables, long CreatedAt)
{
    public static PromptVersionViewJson From(PromptVersion version) => new(
        version.Number.ToString(System.Globalization.CultureInfo.InvariantCulture), version.Model, version.Instructions,
        [.. version.Input.Select(m => new PromptMessageJson(m.Role, m.Content))],
        version.Variables.ToDictionary(v => v, v => version.Types?.GetValueOrDefault(v) ?? PromptAdminTypes.Text, StringComparer.Ordinal), version.CreatedAt.ToUnixTimeSeconds());
}

/// <summary>The variable types a prompt declares: text, or a media part (<c>input_image</c>, <c>input_file</c>) on the Responses API.</summary>
public static class PromptAdminTypes
{
    public const string Text = "string";
    public const string Image = "image";
    public const string File = "file";

    public static bool IsValid(string type) => type is Text or Image or File;

    /// <summary>The part type a variable of <paramref name="type"/> takes, or null for text.</summary>
    public static string? PartOf(string type) => type switch { Image => "input_image", File => "input_file", _ => null };
}
