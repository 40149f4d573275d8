using System.Globalization;
using System.Text;
using Conversations.Caching;
using Conversations.Grains.Caching;
using Conversations.Media;
using Conversations.Tests.Infrastructure;
using CsCheck;

namespace Conversations.Tests.Caching;

/// <summary>
/// The cache key both ways: JSON spelled differently (key order, whitespace, number spelling) keeps the key; any change
/// of a field that changes the answer changes it.
/// </summary>
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class CacheKeyProperties
{
    private const int Mutations = 17;

    [Fact]
    public void Spelling_the_same_request_differently_keeps_its_key()
    {
        Gen.Int.Sample(seed =>
        {
            var spec = RequestSpec.Random(new Random(seed));
            var first = spec.Key(new Random(seed ^ 0x5A5A));
            var second = spec.Key(new Random(seed ^ 0x1234567));
            Assert.Equal(first, second);
        }, iter: 400);
    }

    [Fact]
    public void Changing_any_field_that_changes_the_answer_changes_the_key()
    {
        Gen.Select(Gen.Int, Gen.Int[0, Mutations - 1]).Sample((seed, mutation) =>
        {
            var spec = RequestSpec.Random(new Random(seed));
            var changed = spec.Mutate(mutation);
            Assert.NotEqual(spec.Key(new Random(seed)), changed.Key(new Random(seed + 1)));
        }, iter: 600);
    }

    [Fact]
    public void What_does_not_change_the_answer_does_not_change_the_key()
    {
        var spec = RequestSpec.Random(new Random(7));
        var request = spec.Request(new Random(1));
        var tenantScoped = CacheKey.Exact("t", 1, request, CacheScope.Tenant);

        Assert.Equal(tenantScoped, CacheKey.Exact("t", 1, request with { StreamDeltas = !request.StreamDeltas, Conversation = "t/conv_other" }, CacheScope.Tenant));
        Assert.Equal(tenantScoped, CacheKey.Exact("t", 1, request with { EndUser = "someone-else", CacheControl = CacheDirective.NoCache }, CacheScope.Tenant));
    }

    [Fact]
    public void The_semantic_partition_ignores_only_the_last_message_text()
    {
        var request = RequestSpec.Random(new Random(11)).Request(new Random(2));
        var paraphrased = request with { Messages = [.. request.Messages.SkipLast(1), request.Messages[^1] with { Text = "said differently" }] };
        var earlierChanged = request with { Messages = [request.Messages[0] with { Text = request.Messages[0].Text + " more" }, .. request.Messages.Skip(1)] };

        Assert.Equal(CacheKey.Rest("t", 1, request, CacheScope.Tenant), CacheKey.Rest("t", 1, paraphrased, CacheScope.Tenant));
        Assert.NotEqual(CacheKey.Rest("t", 1, request, CacheScope.Tenant), CacheKey.Rest("t", 1, earlierChanged, CacheScope.Tenant));
        Assert.NotEqual(CacheKey.Exact("t", 1, request, CacheScope.Tenant), CacheKey.Rest("t", 1, request, CacheScope.Tenant));
    }

    [Fact]
    public void Images_and_stop_sequences_change_the_key_and_the_same_bytes_inline_or_stored_keep_it()
    {
        byte[] red = [1, 2, 3], blue = [4, 5, 6];
        CompletionRequest With(params ContentPart[] parts) =>
            new("alias", [new NewItem(Roles.User, "what is in this picture?", Parts: parts)]);
        var inline = CacheKey.Exact("t", 1, With(new ContentPart(Modalities.Image, "image/png", 3, Data: red)), CacheScope.Tenant);

        Assert.Equal(inline, CacheKey.Exact("t", 1, With(new ContentPart(Modalities.Image, "image/png", 3, Ref: ContentAddress.Of(red))), CacheScope.Tenant));
        Assert.NotEqual(inline, CacheKey.Exact("t", 1, With(new ContentPart(Modalities.Image, "image/png", 3, Data: blue)), CacheScope.Tenant));
        Assert.NotEqual(inline, CacheKey.Exact("t", 1, With(new ContentPart(Modalities.Image, "image/png", 3, Data: red, Detail: "high")), CacheScope.Tenant));
        Assert.NotEqual(inline, CacheKey.Exact("t", 1, With(), CacheScope.Tenant));
        Assert.NotEqual(CacheKey.Exact("t", 1, With(), CacheScope.Tenant), CacheKey.Exact("t", 1, With() with { StopSequences = ["END"] }, CacheScope.Tenant));
        Assert.Null(SemanticCache.Question(With(new ContentPart(Modalities.Image, "image/png", 3, Data: red))));
        Assert.NotNull(SemanticCache.Question(With()));
    }

    /// <summary>A request whose JSON-valued fields are trees, rendered in a spelling a random source picks.</summary>
    private sealed record RequestSpec(
        string Tenant, string Alias, int Version, string? User, CacheScope Scope, List<(string Role, string Text)> Messages, Tree CallArguments,
        string ToolName, string ToolDescription, Tree ToolParameters, string? Choice, bool? Parallel, string? FormatType, Tree Schema,
        float? Temperature, float? TopP, int? MaxTokens)
    {
        public static RequestSpec Random(Random random) => new(
            "tenant-" + random.Next(3), "alias-" + random.Next(3), random.Next(1, 5), "user-" + random.Next(3), CacheScope.User,
            [.. Enumerable.Range(0, random.Next(1, 5)).Select(i => (i % 2 == 0 ? Roles.User : Roles.Assistant, Words(random)))],
            Tree.Random(random, 2), "tool_" + random.Next(5), Words(random), Tree.Random(random, 3),
            random.Next(3) switch { 0 => null, 1 => Conversations.ToolChoice.Auto, _ => Conversations.ToolChoice.Required }, random.Next(3) switch { 0 => null, 1 => true, _ => false },
            random.Next(2) == 0 ? null : OutputFormat.JsonSchemaType, Tree.Random(random, 3),
            random.Next(2) == 0 ? null : random.Next(0, 20) / 10f, random.Next(2) == 0 ? null : random.Next(1, 10) / 10f,
            random.Next(2) == 0 ? null : random.Next(1, 4000));

        public string Key(Random spelling) => CacheKey.Exact(Tenant, Version, Request(spelling), Scope);

        public CompletionRequest Request(Random spelling) => new(
            Alias,
            [
                .. Messages.Select(m => new NewItem(m.Role, m.Text)),
                NewItem.CallOf(new FunctionCall("call_1", ToolName, CallArguments.Render(spelling))),
                NewItem.OutputOf("call_1", "42"),
            ],
            Temperature, MaxTokens, TopP, User)
        {
            Tools = [new ToolDefinition(ToolName, ToolDescription, ToolParameters.Render(spelling))],
            ToolChoice = Choice is null ? null : new ToolChoice(Choice),
            ParallelToolCalls = Parallel,
            Format = FormatType is null ? null : new OutputFormat(FormatType, "answer", Schema.Render(spelling)),
        };

        public RequestSpec Mutate(int mutation) => mutation switch
        {
            0 => this with { Tenant = Tenant + "x" },
            1 => this with { Alias = Alias + "x" },
            2 => this with { Version = Version + 1 },
            3 => this with { User = User + "x" },
            4 => this with { Messages = [.. Messages.SkipLast(1), (Messages[^1].Role, Messages[^1].Text + "!")] },
            5 => this with { Messages = [(Messages[0].Role == Roles.User ? Roles.System : Roles.User, Messages[0].Text), .. Messages.Skip(1)] },
            6 => this with { Messages = [(Roles.User, "earlier"), .. Messages] },
            7 => this with { CallArguments = CallArguments.Changed() },
            8 => this with { ToolName = ToolName + "x" },
            9 => this with { ToolDescription = ToolDescription + "x" },
            10 => this with { ToolParameters = ToolParameters.Changed() },
            11 => this with { Choice = Choice is null ? Conversations.ToolChoice.None : null },
            12 => this with { Parallel = Parallel is null ? true : null },
            13 => FormatType is null ? this with { FormatType = OutputFormat.JsonSchemaType } : this with { Schema = Schema.Changed() },
            14 => this with { Temperature = (Temperature ?? 1f) + 0.1f },
            15 => this with { TopP = TopP is null ? 0.5f : null },
            _ => this with { MaxTokens = (MaxTokens ?? 100) + 1 },
        };

        private static string Words(Random random) => string.Join(' ', Enumerable.Range(0, random.Next(1, 6)).Select(_ => "w" + random.Next(50)));
    }

    /// <summary>A JSON value: an object, an array, a string, an integer or a fraction.</summary>
    private sealed record Tree(char Kind, string? Text = null, double Number = 0, List<(string Name, Tree Value)>? Members = null, List<Tree>? Items = null)
    {
        public static Tree Random(Random random, int depth) => new('o', Members: [.. Enumerable.Range(0, random.Next(1, 5))
            .Select(i => ("k" + i + "_" + random.Next(100), Value(random, depth - 1)))
            .DistinctBy(m => m.Item1)]);

        private static Tree Value(Random random, int depth) => (depth > 0 ? random.Next(6) : random.Next(4)) switch
        {
            0 => new Tree('s', Text: "v" + random.Next(100) + (random.Next(4) == 0 ? " \"quoted\" é" : string.Empty)),
            1 => new Tree('i', Number: random.Next(-1000, 1000)),
            2 => new Tree('f', Number: random.Next(-400, 400) / 8.0 + 0.125),
            3 => new Tree('b', Text: random.Next(2) == 0 ? "true" : "false"),
            4 => Random(random, depth),
            _ => new Tree('a', Items: [.. Enumerable.Range(0, random.Next(0, 4)).Select(_ => Value(random, depth - 1))]),
        };

        /// <summary>The same value with one leaf changed: the first member's value, or a member added.</summary>
        public Tree Changed() => Members is [var (name, value), .. var rest]
            ? this with { Members = [(name, value.Kind is 'i' or 'f' ? value with { Number = value.Number + 1 } : new Tree('s', Text: "changed")), .. rest] }
            : this with { Members = [("added", new Tree('i', Number: 1))] };

        public string Render(Random spelling)
        {
            var text = new StringBuilder();
            Render(text, spelling);
            return text.ToString();
        }

        private void Render(StringBuilder text, Random spelling)
        {
            var space = spelling.Next(3) switch { 0 => string.Empty, 1 => " ", _ => "\n  " };
            switch (Kind)
            {
                case 'o':
                    text.Append('{').Append(space);
                    var members = Members!.OrderBy(_ => spelling.Next()).ToList();
                    for (var i = 0; i < members.Count; i++)
                    {
                        text.Append(i > 0 ? "," + space : string.Empty).Append(System.Text.Json.JsonSerializer.Serialize(members[i].Name)).Append(space).Append(':').Append(space);
                        members[i].Value.Render(text, spelling);
                    }

                    text.Append(space).Append('}');
                    break;
                case 'a':
                    text.Append('[').Append(space);
                    for (var i = 0; i < Items!.Count; i++)
                    {
                        text.Append(i > 0 ? "," + space : string.Empty);
                        Items[i].Render(text, spelling);
                    }

                    text.Append(space).Append(']');
                    break;
                case 's':
                    // Escaped or not: the same string.
                    text.Append(spelling.Next(2) == 0 ? System.Text.Json.JsonSerializer.Serialize(Text) : "\"" + Text!.Replace("\"", "\\u0022", StringComparison.Ordinal) + "\"");
                    break;
                case 'i':
                    text.Append(((long)Number).ToString(CultureInfo.InvariantCulture));
                    break;
                case 'f':
                    text.Append(spelling.Next(3) switch
                    {
                        0 => Number.ToString("R", CultureInfo.InvariantCulture),
                        1 => Number.ToString("0.000000", CultureInfo.InvariantCulture),
                        _ => Number.ToString("0.0###E+000", CultureInfo.InvariantCulture),
                    });
                    break;
                default:
                    text.Append(Text);
                    break;
            }
        }
    }
}
