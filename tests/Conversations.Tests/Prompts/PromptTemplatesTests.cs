using Conversations.Grains.Prompts;
using Conversations.Prompts;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Prompts;

/// <summary>Rendering a prompt version: variables by name, values never read as template syntax, missing and extra variables named.</summary>
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class PromptTemplatesTests
{
    private static readonly PromptVersion Support = new(
        1, "You help customers of {{company}}. Answer in {{language}}.", [new PromptMessage("user", "My order is {{order}}.")],
        ["company", "language", "order"], "gpt-4o", DateTimeOffset.UnixEpoch);

    private static readonly Dictionary<string, string> Values = new() { ["company"] = "Acme & Co <EU>", ["language"] = "French", ["order"] = "A-17" };

    [Fact]
    public void Variables_are_written_into_instructions_and_messages_without_escaping()
    {
        var rendered = PromptTemplates.Render(Support, Values);

        Assert.True(rendered.IsSuccess);
        Assert.Equal("You help customers of Acme & Co <EU>. Answer in French.", rendered.Value.Instructions);
        Assert.Equal("My order is A-17.", Assert.Single(rendered.Value.Input).Content);
        Assert.Equal("gpt-4o", rendered.Value.Model);
    }

    [Fact]
    public void A_value_that_looks_like_template_syntax_stays_text()
    {
        var rendered = PromptTemplates.Render(Support, new Dictionary<string, string>(Values) { ["order"] = "{{company}} {{#each x}}{{/each}}" });

        Assert.True(rendered.IsSuccess);
        Assert.Equal("My order is {{company}} {{#each x}}{{/each}}.", Assert.Single(rendered.Value!.Input).Content);
    }

    [Fact]
    public void A_missing_or_an_undeclared_variable_is_refused_naming_it()
    {
        var missing = PromptTemplates.Render(Support, new Dictionary<string, string>(Values).Where(p => p.Key != "language").ToDictionary());
        var extra = PromptTemplates.Render(Support, new Dictionary<string, string>(Values) { ["tone"] = "warm" });

        Assert.Equal("prompt.variables.language", missing.Error!.Param);
        Assert.Equal(400, missing.Error.Status);
        Assert.Equal("prompt.variables.tone", extra.Error!.Param);
    }

    [Fact]
    public void A_template_that_uses_an_undeclared_variable_or_does_not_compile_is_refused_naming_its_field()
    {
        var undeclared = PromptTemplates.Check(Support with { Variables = ["company", "language"] });
        var broken = PromptTemplates.Check(Support with { Instructions = "Hello {{#if company}}" });

        Assert.Equal("input[0].content", undeclared?.Param);
        Assert.Equal("instructions", broken?.Param);
        Assert.Null(PromptTemplates.Check(Support));
    }
}
