namespace Conversations.Prompts;

/// <summary>
/// A prompt template of a tenant's library, keyed <c>{tenant}/{pmpt_…}</c>: immutable numbered versions (instructions and
/// input messages with <c>{{variables}}</c>, the declared variables, a default model) and labels that point at versions.
/// </summary>
public interface IPromptGrain : IGrainWithStringKey
{
    /// <summary>Adds the next version (the first creates the prompt); 400 naming the field when its template is refused.</summary>
    Task<Result<PromptView>> AddVersion(PromptVersion version);

    Task<Result<PromptView>> Get();

    /// <summary>Points <paramref name="label"/> at <paramref name="version"/> (a rollback is a label moved back).</summary>
    Task<Result<PromptView>> SetLabel(string label, int version);

    /// <summary>
    /// Renders a version (a number, a label, or by default the <c>production</c> label or else the latest) with the
    /// variables' values; a missing or undeclared variable is a 400 naming it.
    /// </summary>
    Task<Result<RenderedPrompt>> Render(string? version, IReadOnlyDictionary<string, string> variables);
}

/// <summary>One message of a prompt's input: a role and its text template.</summary>
[GenerateSerializer, Immutable, Alias("conv.PromptMessage")]
public sealed record PromptMessage([property: Id(0)] string Role, [property: Id(1)] string Content);

/// <summary>
/// One immutable version; <see cref="Number"/> is given by the grain. <see cref="Types"/> holds the variables declared
/// <c>image</c> or <c>file</c> (their values are media parts); the others are text.
/// </summary>
[GenerateSerializer, Immutable, Alias("conv.PromptVersion")]
public sealed record PromptVersion(
    [property: Id(0)] int Number,
    [property: Id(1)] string? Instructions,
    [property: Id(2)] IReadOnlyList<PromptMessage> Input,
    [property: Id(3)] IReadOnlyList<string> Variables,
    [property: Id(4)] string? Model,
    [property: Id(5)] DateTimeOffset CreatedAt,
    [property: Id(6)] IReadOnlyDictionary<string, string>? Types = null);

/// <summary>A prompt as the admin API shows it: every version, and its labels.</summary>
[GenerateSerializer, Immutable, Alias("conv.PromptView")]
public sealed record PromptView(
    [property: Id(0)] string Id,
    [property: Id(1)] IReadOnlyList<PromptVersion> Versions,
    [property: Id(2)] IReadOnlyDictionary<string, int> Labels);

/// <summary>A version rendered with its variables: what a response request is built from, with the version's media variable <see cref="Types"/>.</summary>
[GenerateSerializer, Immutable, Alias("conv.RenderedPrompt")]
public sealed record RenderedPrompt(
    [property: Id(0)] int Version,
    [property: Id(1)] string? Model,
    [property: Id(2)] string? Instructions,
    [property: Id(3)] IReadOnlyList<PromptMessage> Input,
    [property: Id(4)] IReadOnlyDictionary<string, string>? Types = null);
