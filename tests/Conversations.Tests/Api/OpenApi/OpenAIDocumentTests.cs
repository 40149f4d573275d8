using System.Text.Json;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Api.OpenApi;

/// <summary>The schema check itself refuses what OpenAI's document refuses, so a passing conformance test means something.</summary>
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class OpenAIDocumentTests
{
    private const string InputTokens = """{"object":"response.input_tokens","input_tokens":12}""";

    [Fact]
    public void An_answer_missing_a_required_property_or_with_a_wrong_constant_is_refused()
    {
        var document = OpenAIDocument.Instance;
        var schema = document.AnswerSchema("post", "/responses/input_tokens");

        Assert.Empty(document.Check(schema, JsonElement.Parse(InputTokens)));
        Assert.NotEmpty(document.Check(schema, JsonElement.Parse("""{"object":"response.input_tokens"}""")));
        Assert.NotEmpty(document.Check(schema, JsonElement.Parse("""{"object":"response","input_tokens":12}""")));
        Assert.NotEmpty(document.Check("ErrorResponse", JsonElement.Parse("""{"error":{"message":"m","type":"t"}}""")));
    }
}
