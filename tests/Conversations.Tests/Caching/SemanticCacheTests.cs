using System.Text.Json;
using static Conversations.Tests.Caching.CallOutcome;

namespace Conversations.Tests.Caching;

/// <summary>
/// The semantic cache and the user scope over real HTTP, with the local embedding model. Each test's instructions carry its
/// marker, so its questions embed clean and its calls are counted at the simulated upstream; the simulated model echoes
/// the question it was asked, so a replayed answer shows which question made it.
/// </summary>
public sealed class SemanticCacheTests(CacheFixture fixture) : IClassFixture<CacheFixture>
{
    private const string ChatPath = "/v1/chat/completions";
    private const string Question = "How do I reset my password?";
    private const string Paraphrase = "How can I reset my password?";
    private const string ToolCalls = """[{"id":"call_1","type":"function","function":{"name":"lookup","arguments":"{}"}}]""";
    private const string Tools = """[{"type":"function","function":{"name":"lookup","parameters":{"type":"object","properties":{}}}}]""";

    [Fact]
    public async Task A_paraphrase_hits_only_when_the_instructions_and_the_preceding_turns_are_identical()
    {
        using var http = fixture.Gateway.Http();
        var marker = CacheFixture.Marker();
        var instructions = new Message("system", "You help the users of " + marker);

        var first = await Ask(http, "semantic", instructions, new("user", Question));
        var paraphrased = await Ask(http, "semantic", instructions, new("user", Paraphrase));
        var otherInstructions = await Ask(http, "semantic", new("system", "Answer briefly, users of " + marker), new("user", Paraphrase));
        var laterTurn = await Ask(http, "semantic", instructions, new("user", Question), new("assistant", first.Text), new("user", Paraphrase));

        Assert.Equal(["miss", "hit", "miss", "miss"], new[] { first, paraphrased, otherInstructions, laterTurn }.Select(o => o.Cache));
        Assert.Equal(first.Text, paraphrased.Text);
        Assert.Contains(Question, paraphrased.Text, StringComparison.Ordinal); // the answer made for the first wording
        Assert.Contains(Paraphrase, laterTurn.Text, StringComparison.Ordinal); // the model's own answer to the later turn
        Assert.Equal(3, await fixture.UpstreamCalls(marker));
    }

    [Fact]
    public async Task A_paraphrase_below_the_route_similarity_and_an_unrelated_question_are_misses()
    {
        using var http = fixture.Gateway.Http();
        var marker = CacheFixture.Marker();
        var instructions = new Message("system", "You help the users of " + marker);

        var strict = await Ask(http, "strict", instructions, new("user", Question));
        var strictParaphrase = await Ask(http, "strict", instructions, new("user", Paraphrase));
        var strictAgain = await Ask(http, "strict", instructions, new("user", Question));
        var loose = await Ask(http, "semantic", instructions, new("user", Question));
        var unrelated = await Ask(http, "semantic", instructions, new("user", "Which mountain is the tallest in Africa?"));

        Assert.Equal(["miss", "miss", "hit", "miss", "miss"], new[] { strict, strictParaphrase, strictAgain, loose, unrelated }.Select(o => o.Cache));
        Assert.Contains(Paraphrase, strictParaphrase.Text, StringComparison.Ordinal);
        Assert.Contains("Africa", unrelated.Text, StringComparison.Ordinal);
        Assert.Equal(4, await fixture.UpstreamCalls(marker));
    }

    [Fact]
    public async Task A_request_that_carries_a_tool_output_never_hits_by_meaning()
    {
        using var http = fixture.Gateway.Http();
        var marker = CacheFixture.Marker();
        string Body(string question) => $$"""
            {"model":"semantic","messages":[
              {"role":"system","content":"You help the users of {{marker}}"},
              {"role":"user","content":"Look my account up."},
              {"role":"assistant","content":null,"tool_calls":{{ToolCalls}}},
              {"role":"tool","tool_call_id":"call_1","content":"account 42"},
              {"role":"user","content":{{JsonSerializer.Serialize(question)}}}],
             "tools":{{Tools}}}
            """;

        var first = await Post(http, ChatPath, Body(Question));
        var paraphrased = await Post(http, ChatPath, Body(Paraphrase));
        var repeated = await Post(http, ChatPath, Body(Question));

        Assert.Equal((200, 200), (first.Status, paraphrased.Status));
        Assert.Equal(["miss", "miss", "hit"], new[] { first, paraphrased, repeated }.Select(o => o.Cache)); // the exact cache still answers
        Assert.Equal(2, await fixture.UpstreamCalls(marker));
    }

    [Fact]
    public async Task A_user_scoped_cache_never_answers_one_end_user_with_anothers_answer()
    {
        using var http = fixture.Gateway.Http();
        var marker = CacheFixture.Marker();
        string Body(string user) => Chat("peruser", "What is on my calendar? " + marker, $$""","user":"{{user}}" """);

        var alice = await Post(http, ChatPath, Body("alice"));
        var bob = await Post(http, ChatPath, Body("bob"));
        var aliceAgain = await Post(http, ChatPath, Body("alice"));

        Assert.Equal(["miss", "miss", "hit"], new[] { alice, bob, aliceAgain }.Select(o => o.Cache));
        Assert.NotEqual(alice.Key, bob.Key);
        Assert.Equal(2, await fixture.UpstreamCalls(marker));
    }

    private static Task<CallOutcome> Ask(HttpClient http, string model, params Message[] messages) =>
        Post(http, ChatPath, JsonSerializer.Serialize(new { model, messages }));

    private sealed record Message(string role, string content);
}
