using System.Net;
using System.Text.Json;
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
        var recall = Assert.Single(sent, m => m.StartsWith("Earlier messages that may be relevant:", StringComparison.Ordinal));
        Assert.Contains("Biscuit", recall, StringComparison.Ordinal);
        Assert.DoesNotContain(sent.Skip(1), m => m.Contains("Biscuit", StringComparison.Ordinal) && !m.StartsWith("Earlier", StringComparison.Ordinal)); // not in the window
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
