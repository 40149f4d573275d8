using System.Net;
using System.Text.Json;
using Conversations.Tests.Api;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Context;

/// <summary>
/// Turns that leave the window are summarized in the background by a summarizer route (its own
/// simulated upstream here, so a test can make it hang or fail): the turn never waits for it, a
/// failure loses nothing and is retried, and the summary then takes the old turns' place.
/// </summary>
public sealed class RollingSummaryTests() : BackgroundModelGatewayTest("summarizer", new Dictionary<string, string> { ["Timeouts:Total"] = "00:00:02" })
{
    private const string Policy = """{"window_turns":2,"summarizer":"summarizer","summarize_after_tokens":10,"summary_tokens":200}""";

    private UpstreamServer Summarizer => Background;

    [Fact]
    public async Task A_turn_never_waits_for_the_summarizer_and_the_summary_then_replaces_the_turns_that_left_the_window()
    {
        using var http = Gateway.Http();
        await Summarizer.SetFault("[sim:hang]");
        var id = await Create(http, turns: 6, "hang");

        using var turn = await Turn(http, id, "first question after the history"); // the summarizer hangs meanwhile
        await Summarizer.SetFault(string.Empty);
        var summary = await Eventually.Get(() => Summary(http, id));
        var preview = JsonDocument.Parse(await http.GetStringAsync(new Uri($"/v1/conversations/{id}/context?model=remote", UriKind.Relative))).RootElement;
        using var next = await Turn(http, id, "second question");
        var sent = (await Model.ReceivedRequests()).Last(r => r.GetRawText().Contains("second question", StringComparison.Ordinal)).GetProperty("messages");

        Assert.Equal(HttpStatusCode.OK, turn.StatusCode);
        Assert.Equal(8, summary.GetProperty("items").GetInt32()); // the four turns that left the window
        Assert.Contains("hang question 0", (await Summarizer.ReceivedRequests())[^1].GetRawText(), StringComparison.Ordinal);
        var summarized = preview.GetProperty("left_out").EnumerateArray().Where(l => l.GetProperty("reason").GetString() == "summarized").ToList();
        Assert.Equal(8, summarized.Count);
        Assert.Contains(preview.GetProperty("sections").EnumerateArray(), s => s.GetProperty("name").GetString() == "summary");
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.StartsWith("Summary of the earlier conversation:", sent[0].GetProperty("content").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failing_summarizer_loses_nothing_and_is_retried_until_it_succeeds()
    {
        using var http = Gateway.Http();
        await Summarizer.SetFault("[sim:status=500]");
        var id = await Create(http, turns: 6, "fail");

        using var turn = await Turn(http, id, "a question while the summarizer fails");
        var retried = await Eventually.Get(async () =>
            (await Summarizer.ReceivedRequests()).Count(r => r.GetRawText().Contains("fail question 0", StringComparison.Ordinal)) >= 2 ? "retried" : null);
        var noSummaryYet = await Summary(http, id);
        await Summarizer.SetFault(string.Empty);
        var summary = await Eventually.Get(() => Summary(http, id));
        var items = JsonDocument.Parse(await http.GetStringAsync(new Uri($"/v1/conversations/{id}/items?limit=100", UriKind.Relative))).RootElement;

        Assert.Equal(HttpStatusCode.OK, turn.StatusCode);
        Assert.Equal("retried", retried);
        Assert.Null(noSummaryYet);
        Assert.Equal(8, summary.GetProperty("items").GetInt32());
        Assert.Equal(14, items.GetProperty("data").GetArrayLength()); // every item kept: 12 of history and the turn's two
    }

    private static async Task<JsonElement?> Summary(HttpClient http, string id)
    {
        var state = JsonDocument.Parse(await http.GetStringAsync(new Uri($"/v1/conversations/{id}/state", UriKind.Relative))).RootElement;
        return state.TryGetProperty("summary", out var summary) ? summary : null;
    }

    private static async Task<string> Create(HttpClient http, int turns, string label)
    {
        using var created = await http.PostAsync("/v1/conversations", ChatCompletionsTests.Json("{\"context_policy\":" + Policy + "}"));
        var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        var items = Enumerable.Range(0, turns).SelectMany(i => new[]
        {
            new { role = "user", content = $"{label} question {i}" },
            new { role = "assistant", content = $"{label} answer {i}" },
        });
        using var added = await http.PostAsync($"/v1/conversations/{id}/items", ChatCompletionsTests.Json(JsonSerializer.Serialize(new { items })));
        Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        return id;
    }

    private static Task<HttpResponseMessage> Turn(HttpClient http, string id, string input) =>
        http.PostAsync("/v1/responses", ChatCompletionsTests.Json($$"""{"model":"remote","conversation":"{{id}}","input":"{{input}}"}"""));
}
