using System.Net;
using System.Text.Json;
using Conversations.Tests.Api;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Context;

/// <summary>
/// After each turn an extractor route (its own simulated upstream here, whose JSON mode finds "my … is …" statements, so a
/// test can hold, fail or garble it) reads the items it has not read and its changes are merged into the facts, in the
/// background: the turn never waits, a failure or an unreadable answer loses nothing and is retried, and a fact a client
/// writes meanwhile stands.
/// </summary>
public sealed class FactExtractionTests()
    : BackgroundModelGatewayTest("extractor", new Dictionary<string, string> { ["Circuit:MinimumThroughput"] = "1000" }) // retries reach the upstream, not an open circuit
{
    private const string Policy = """{"extractor":"extractor"}""";

    private UpstreamServer Extractor => Background;

    [Fact]
    public async Task A_fact_stated_in_a_turn_becomes_a_fact_that_the_next_turn_sees_and_only_new_items_are_read_again()
    {
        using var http = Gateway.Http();
        var id = await Create(http);

        using var first = await Turn(http, id, "Hello, my favourite city is Lisbon.");
        var afterFirst = await ExtractedThroughLastItem(http, id);
        using var second = await Turn(http, id, "What should I pack?");
        var afterSecond = await ExtractedThroughLastItem(http, id);
        var sent = (await Model.ReceivedRequests()).Last(r => r.GetRawText().Contains("What should I pack?", StringComparison.Ordinal)).GetProperty("messages");
        var extractorRequests = await Extractor.ReceivedRequests();

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("Lisbon", Fact(afterFirst, "favourite_city"));
        Assert.Contains(sent.EnumerateArray(), m => m.GetProperty("role").GetString() == "system"
            && m.GetProperty("content").GetString()!.Contains("- favourite_city: Lisbon", StringComparison.Ordinal));
        Assert.Equal(2, extractorRequests.Count);
        Assert.All(extractorRequests, r => Assert.Equal("json_object", r.GetProperty("response_format").GetProperty("type").GetString()));
        Assert.Contains("user: Hello, my favourite city is Lisbon.", extractorRequests[0].GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain("my favourite city is Lisbon", extractorRequests[1].GetRawText(), StringComparison.Ordinal); // read once
        Assert.Contains("user: What should I pack?", extractorRequests[1].GetRawText(), StringComparison.Ordinal);
        Assert.Equal(["favourite_city"], afterSecond.GetProperty("facts").EnumerateObject().Select(f => f.Name));
    }

    [Fact]
    public async Task A_turn_never_waits_for_the_extractor_and_a_turn_during_its_call_is_read_right_after()
    {
        using var http = Gateway.Http();

        // Held until the fault is next set: a turn that waited for the extractor would never finish.
        var id = await TurnWhileExtractor("[sim:hold]", http, "my favourite city is Lisbon", calls: 1);
        using var second = await Turn(http, id, "my dog's name is Rex");
        var whileHeld = await State(http, id);
        await Extractor.SetFault(string.Empty);
        var state = await ExtractedThroughLastItem(http, id);

        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Empty(whileHeld.GetProperty("facts").EnumerateObject());
        Assert.Equal("Lisbon", Fact(state, "favourite_city"));
        Assert.Equal("Rex", Fact(state, "dogs_name"));
    }

    [Fact]
    public async Task A_failing_extractor_is_retried_and_then_reads_every_item_it_missed()
    {
        using var http = Gateway.Http();

        var id = await TurnWhileExtractor("[sim:status=500]", http, "my favourite city is Lisbon", calls: 2); // a retry
        using var second = await Turn(http, id, "my dog's name is Rex");
        var whileFailing = await State(http, id);
        await Extractor.SetFault(string.Empty);
        var state = await ExtractedThroughLastItem(http, id);

        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Empty(whileFailing.GetProperty("facts").EnumerateObject());
        Assert.False(whileFailing.TryGetProperty("extracted_through_item_id", out _));
        Assert.Equal("Lisbon", Fact(state, "favourite_city"));
        Assert.Equal("Rex", Fact(state, "dogs_name"));
    }

    [Fact]
    public async Task An_extractor_answering_garbage_leaves_the_facts_as_they_were_and_loses_nothing()
    {
        using var http = Gateway.Http();

        // Filler words, not JSON; the facts were written before the turn.
        var id = await TurnWhileExtractor("[sim:tokens=20]", http, "my favourite city is Lisbon", calls: 2, facts: """{"name":"Ada"}""");
        var afterGarbage = await State(http, id);
        await Extractor.SetFault(string.Empty);
        var state = await ExtractedThroughLastItem(http, id);

        Assert.Equal("""{"name":"Ada"}""", afterGarbage.GetProperty("facts").GetRawText());
        Assert.False(afterGarbage.TryGetProperty("extracted_through_item_id", out _));
        Assert.Equal("Ada", Fact(state, "name"));
        Assert.Equal("Lisbon", Fact(state, "favourite_city"));
    }

    [Fact]
    public async Task Facts_a_client_writes_while_the_extractor_runs_stand_and_the_extractors_other_changes_are_merged()
    {
        using var http = Gateway.Http();

        var id = await TurnWhileExtractor("[sim:hold]", http, "my favourite city is Lisbon, and my dog's name is Rex", calls: 1);
        await SetFacts(http, id, """{"favourite_city":"Porto","drink":"tea"}""");
        await Extractor.SetFault(string.Empty);
        var state = await ExtractedThroughLastItem(http, id);

        Assert.Equal("Porto", Fact(state, "favourite_city")); // the client's write is newer than what the extractor read
        Assert.Equal("tea", Fact(state, "drink"));
        Assert.Equal("Rex", Fact(state, "dogs_name"));
    }

    [Fact]
    public async Task Deleting_the_last_item_read_moves_the_mark_back_and_the_facts_stay()
    {
        using var http = Gateway.Http();
        var id = await Create(http);
        using var turn = await Turn(http, id, "my favourite city is Lisbon");
        var last = await LastItem(http, id);
        await ExtractedThroughLastItem(http, id);

        using var deleted = await http.DeleteAsync(new Uri($"/v1/conversations/{id}/items/{last}", UriKind.Relative));
        var state = await State(http, id);

        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.Equal(await LastItem(http, id), state.GetProperty("extracted_through_item_id").GetString());
        Assert.Equal("Lisbon", Fact(state, "favourite_city"));
    }

    /// <summary>
    /// A new conversation (with <paramref name="facts"/>, if given) whose first turn said <paramref name="input"/> while the
    /// extractor answered under <paramref name="fault"/>, once the extractor has had <paramref name="calls"/> calls.
    /// </summary>
    private async Task<string> TurnWhileExtractor(string fault, HttpClient http, string input, int calls, string? facts = null)
    {
        await Extractor.SetFault(fault);
        var id = await Create(http);
        if (facts is not null)
        {
            await SetFacts(http, id, facts);
        }

        using var turn = await Turn(http, id, input);
        Assert.Equal(HttpStatusCode.OK, turn.StatusCode);
        await Eventually.Get(async () => (await Extractor.ReceivedRequests()).Count >= calls ? "called" : null);
        return id;
    }

    private static async Task SetFacts(HttpClient http, string id, string facts)
    {
        using var written = await http.PostAsync($"/v1/conversations/{id}/state", ChatCompletionsTests.Json($$"""{"facts":{{facts}}}"""));
        Assert.Equal(HttpStatusCode.OK, written.StatusCode);
    }

    /// <summary>The state, once the extractor has read through the conversation's last item.</summary>
    private static Task<JsonElement> ExtractedThroughLastItem(HttpClient http, string id) => Eventually.Get<JsonElement>(async () =>
    {
        var state = await State(http, id);
        return state.TryGetProperty("extracted_through_item_id", out var through) && through.GetString() == await LastItem(http, id) ? state : null;
    });

    private static string? Fact(JsonElement state, string key) =>
        state.GetProperty("facts").TryGetProperty(key, out var value) ? value.GetString() : null;

    private static async Task<JsonElement> State(HttpClient http, string id) =>
        JsonDocument.Parse(await http.GetStringAsync(new Uri($"/v1/conversations/{id}/state", UriKind.Relative))).RootElement;

    private static async Task<string> LastItem(HttpClient http, string id) =>
        JsonDocument.Parse(await http.GetStringAsync(new Uri($"/v1/conversations/{id}/items?order=desc&limit=1", UriKind.Relative)))
            .RootElement.GetProperty("data")[0].GetProperty("id").GetString()!;

    private static async Task<string> Create(HttpClient http)
    {
        using var created = await http.PostAsync("/v1/conversations", ChatCompletionsTests.Json("{\"context_policy\":" + Policy + "}"));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        return JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
    }

    private static Task<HttpResponseMessage> Turn(HttpClient http, string id, string input) =>
        http.PostAsync("/v1/responses", ChatCompletionsTests.Json($$"""{"model":"remote","conversation":"{{id}}","input":"{{input}}"}"""));
}
