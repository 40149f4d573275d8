using System.Net;
using System.Text.Json;
using Conversations.Grains.Context;
using Conversations.Grains.Memory;
using Conversations.Memory;
using Conversations.Tests.Api;
using Conversations.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Conversations.Tests.Context;

/// <summary>
/// Recall of older turns with the local embedding model (no network): a fact planted early is found
/// again long after it left the window, indexes are per tenant, and deleting a conversation removes
/// its vectors.
/// </summary>
public sealed class RecallTests : UpstreamGatewayTest
{

    [Fact]
    public async Task A_fact_from_turn_3_is_recalled_at_turn_150_after_it_has_left_the_window()
    {
        using var http = Gateway.Http();
        var id = await Create(http, """{"window_turns":10,"recall_top_k":3}""");
        var turns = Enumerable.Range(0, 149).SelectMany(i => i == 3
            ? new[] { Message("user", "My dog is called Biscuit and he loves running on the beach."), Message("assistant", "Noted: your dog Biscuit loves the beach.") }
            : [Message("user", $"Please add line {i} to the quarterly budget: {Things[i % Things.Length]} costs {i * 3} euros."), Message("assistant", $"Added budget line {i}.")]);
        foreach (var batch in turns.Chunk(20))
        {
            using var added = await http.PostAsync($"/v1/conversations/{id}/items", ChatCompletionsTests.Json(JsonSerializer.Serialize(new { items = batch })));
            Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        }

        await Eventually.Get(async () => await Indexed(http, id) >= 298 ? "indexed" : null, TimeSpan.FromSeconds(120));
        using var turn = await http.PostAsync("/v1/responses", ChatCompletionsTests.Json(
            $$"""{"model":"remote","conversation":"{{id}}","input":"What is the name of my dog?"}"""));
        var sent = (await Upstream.ReceivedRequests()).Last(r => r.GetRawText().Contains("name of my dog", StringComparison.Ordinal))
            .GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("content").ToString()).ToList();

        Assert.Equal(HttpStatusCode.OK, turn.StatusCode);
        var recall = Assert.Single(sent, m => m.StartsWith(ContextBuilder.RecallHeading, StringComparison.Ordinal));
        Assert.Contains("Biscuit", recall, StringComparison.Ordinal);
        Assert.DoesNotContain(sent.Skip(1), m => m.Contains("Biscuit", StringComparison.Ordinal) && !m.StartsWith(ContextBuilder.RecallHeading, StringComparison.Ordinal)); // not in the window
        Assert.Equal(22, sent.Count); // the recall section, ten whole turns (twenty messages) and the question
    }

    [Fact]
    public async Task Indexes_are_per_tenant_and_deleting_a_conversation_removes_its_vectors()
    {
        using var http = Gateway.Http();
        var store = Gateway.Services.GetRequiredService<IVectorStore>();
        var id = await Create(http, """{"recall_top_k":2}""");
        using var added = await http.PostAsync($"/v1/conversations/{id}/items", ChatCompletionsTests.Json(
            """{"items":[{"role":"user","content":"The launch code is tulip."}]}"""));
        await Eventually.Get(async () => await Indexed(http, id) >= 1 ? "indexed" : null, TimeSpan.FromSeconds(120));
        var own = store.For("default", VectorScopes.Conversation(id));
        var sameScopeOtherTenant = store.For("other", VectorScopes.Conversation(id));
        var probe = (await own.Search(new float[384].Select((_, i) => i == 0 ? 1f : 0f).ToArray(), 10, -1)).Count;

        using var deleted = await http.DeleteAsync(new Uri($"/v1/conversations/{id}", UriKind.Relative));

        Assert.Equal(1, probe);
        Assert.Empty(await sameScopeOtherTenant.Search(new float[384].Select((_, i) => i == 0 ? 1f : 0f).ToArray(), 10, -1));
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.Empty(await own.Sources());
    }

    [Theory]
    [InlineData("hybrid", true)]
    [InlineData("dense", false)]
    public async Task An_order_number_in_the_question_recalls_its_order_among_two_hundred_alike_only_with_hybrid_retrieval(string mode, bool recalled)
    {
        using var http = Gateway.Http();
        var id = await Create(http, $$"""{"window_turns":4,"recall_top_k":3,"retrieval_mode":"{{mode}}"}""");
        var orders = Enumerable.Range(0, 200).Select(i => Message("user", string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"Order {40_000 + (i * 137)} with {Goods[i % Goods.Length]} shipped to a customer in {Cities[i % Cities.Length]}."))).ToList();
        await Add(http, id, orders);
        await Eventually.Get(async () => await Indexed(http, id) >= 200 ? "indexed" : null, TimeSpan.FromSeconds(120));

        var sent = await Turn(http, id, "Remind me, where did order 56029 go?");

        Assert.Equal(recalled, sent.Any(m => m.StartsWith(ContextBuilder.RecallHeading, StringComparison.Ordinal) && m.Contains("Order 56029", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("mark")]
    [InlineData("drop")]
    public async Task A_changed_fact_is_recalled_dated_in_the_order_said_and_its_older_statement_is_marked_superseded_or_left_out(string policy)
    {
        using var http = Gateway.Http();
        var id = await Create(http, $$"""{"window_turns":4,"recall_top_k":3,"recall_superseded":"{{policy}}"}""");
        var items = Enumerable.Range(0, 40).SelectMany(i => i switch
        {
            3 => new[] { Message("user", "My gym membership number is 5521."), Message("assistant", "Noted.") },
            25 => [Message("user", "My gym membership number is now 7730."), Message("assistant", "Noted.")],
            _ => [Message("user", $"Please add {Things[i % Things.Length]} to the shopping list."), Message("assistant", "Added.")],
        }).ToList();
        await Add(http, id, items);
        await Eventually.Get(async () => await Indexed(http, id) >= 80 ? "indexed" : null, TimeSpan.FromSeconds(120));

        var sent = await Turn(http, id, "What is my gym membership number?");

        var lines = Assert.Single(sent, m => m.StartsWith(ContextBuilder.RecallHeading, StringComparison.Ordinal)).Split('\n');
        var newer = Array.FindIndex(lines, l => l.EndsWith("user: My gym membership number is now 7730.", StringComparison.Ordinal));
        var older = Array.FindIndex(lines, l => l.EndsWith("user: My gym membership number is 5521.", StringComparison.Ordinal));
        Assert.Matches(@"^- \(\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\) user: My gym membership number is now 7730\.$", lines[newer]);
        if (policy == "mark")
        {
            Assert.InRange(older, 1, newer - 1); // said first, listed first
            Assert.Contains(ContextBuilder.SupersededMark, lines[older], StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal(-1, older);
        }
    }

    [Fact]
    public async Task An_unknown_retrieval_mode_or_superseded_policy_is_refused_naming_the_policy()
    {
        using var http = Gateway.Http();

        using var mode = await http.PostAsync("/v1/conversations", ChatCompletionsTests.Json("""{"context_policy":{"retrieval_mode":"sparse"}}"""));
        using var superseded = await http.PostAsync("/v1/conversations", ChatCompletionsTests.Json("""{"context_policy":{"recall_superseded":"hide"}}"""));

        Assert.Equal(HttpStatusCode.BadRequest, mode.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, superseded.StatusCode);
        Assert.Contains("retrieval_mode 'hybrid' or 'dense'", await mode.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("context_policy", JsonDocument.Parse(await superseded.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("param").GetString());
    }

    private static readonly string[] Cities = ["Lyon", "Porto", "Graz", "Turku", "Ghent", "Split", "Cork", "Brno"];
    private static readonly string[] Goods = ["garden chairs", "a desk lamp", "two rugs", "a bookshelf", "kitchen scales", "a kettle"];

    private static async Task Add(HttpClient http, string id, IEnumerable<object> items)
    {
        foreach (var batch in items.Chunk(20))
        {
            using var added = await http.PostAsync($"/v1/conversations/{id}/items", ChatCompletionsTests.Json(JsonSerializer.Serialize(new { items = batch })));
            Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        }
    }

    /// <summary>A turn on the upstream-routed model, and the messages the upstream received for it (its question is unique to the test).</summary>
    private async Task<List<string>> Turn(HttpClient http, string id, string question)
    {
        using var turn = await http.PostAsync("/v1/responses", ChatCompletionsTests.Json(JsonSerializer.Serialize(new { model = "remote", conversation = id, input = question })));
        Assert.Equal(HttpStatusCode.OK, turn.StatusCode);
        return [.. (await Upstream.ReceivedRequests())
            .Last(r => r.GetProperty("messages").EnumerateArray().Any(m => m.GetProperty("content").ToString() == question))
            .GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("content").ToString())];
    }

    private static readonly string[] Things = ["printer paper", "office chairs", "a team lunch", "cloud storage", "train tickets", "a conference booth", "laptop repairs"];

    private static object Message(string role, string content) => new { role, content };

    private static async Task<string> Create(HttpClient http, string policy)
    {
        using var created = await http.PostAsync("/v1/conversations", ChatCompletionsTests.Json("{\"context_policy\":" + policy + "}"));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        return JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
    }

    private static async Task<int> Indexed(HttpClient http, string id) =>
        JsonDocument.Parse(await http.GetStringAsync(new Uri($"/v1/conversations/{id}/state", UriKind.Relative))).RootElement.GetProperty("indexed_items").GetInt32();
}
