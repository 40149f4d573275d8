using System.Net;
using System.Text.Json;
using Conversations.Grains.Memory;
using Conversations.Memory;
using Conversations.Providers;
using Conversations.Tests.Api;
using Conversations.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Conversations.Tests.Context;

/// <summary>Knowledge bases end to end: ingest a Markdown document, retrieve the chunk that answers, cite it; per tenant; deletable.</summary>
public sealed class KnowledgeBaseTests : UpstreamGatewayTest
{
    private static readonly string Manual = string.Join("\n\n", new[]
    {
        "# Espresso machine manual",
        "## Unpacking\n" + Filler("Remove the machine from the box, keep the foam inserts, and place it on a flat surface away from the sink.", 6),
        "## Cleaning\n" + Filler("Descale the boiler every month with citric acid, rinse the portafilter after each shot, and empty the drip tray daily.", 6),
        "## Warranty\nThe pump and the boiler are covered by a warranty of 2 years from the date of purchase. Keep your receipt.",
        "## Shipping\n" + Filler("We ship to forty countries; parcels leave the warehouse within two working days and are tracked.", 6),
    });


    [Fact]
    public async Task Ingest_retrieve_and_cite_the_chunk_that_holds_the_answer()
    {
        using var http = Gateway.Http();
        var kb = await CreateKnowledgeBase(http);
        var document = await Ingest(http, kb, "manual.md", Manual);
        var conversation = await CreateConversation(http, kb);

        using var turn = await http.PostAsync("/v1/responses", ChatCompletionsTests.Json(
            $$"""{"model":"remote","conversation":"{{conversation}}","input":"How long is the warranty on the pump?"}"""));
        var response = JsonDocument.Parse(await turn.Content.ReadAsStringAsync()).RootElement;
        var sent = (await Upstream.ReceivedRequests()).Last(r => r.GetRawText().Contains("warranty on the pump", StringComparison.Ordinal))
            .GetProperty("messages")[0].GetProperty("content").GetString()!;

        Assert.Equal(HttpStatusCode.OK, turn.StatusCode);
        Assert.True(document.GetProperty("chunks").GetInt32() > 1);
        var citations = response.GetProperty("metadata").GetProperty("citations").GetString()!.Split(' ');
        Assert.StartsWith("Knowledge that may help", sent, StringComparison.Ordinal);
        var blocks = sent.Split("\n[").Skip(1).ToDictionary(b => b[..b.IndexOf(']', StringComparison.Ordinal)], b => b);
        Assert.Equal(blocks.Keys.Order(), citations.Order()); // every chunk the model was given is cited, and only those
        Assert.Contains("2 years", blocks[citations[0]], StringComparison.Ordinal); // the best match holds the answer
        Assert.StartsWith($"{kb}/{document.GetProperty("id").GetString()}#", citations[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stateless_response_is_grounded_in_the_knowledge_bases_it_names_after_its_instructions()
    {
        using var http = Gateway.Http();
        var kb = await CreateKnowledgeBase(http);
        await Ingest(http, kb, "manual.md", Manual);

        using var answered = await http.PostAsync("/v1/responses", ChatCompletionsTests.Json(
            $$$"""{"model":"remote","instructions":"Be brief.","input":"How long is the pump warranty?","context_policy":{"knowledge_bases":["{{{kb}}}"],"knowledge_top_k":2}}"""));
        using var refused = await http.PostAsync("/v1/responses", ChatCompletionsTests.Json(
            $$$"""{"model":"remote","input":"hi","context_policy":{"knowledge_bases":["{{{kb}}}"],"window_turns":3}}"""));

        var response = JsonDocument.Parse(await answered.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        var sent = (await Upstream.ReceivedRequests()).Last(r => r.GetRawText().Contains("pump warranty", StringComparison.Ordinal)).GetProperty("messages");
        Assert.Equal("Be brief.", sent[0].GetProperty("content").GetString());
        var knowledge = sent[1].GetProperty("content").GetString()!;
        Assert.StartsWith("Knowledge that may help", knowledge, StringComparison.Ordinal);
        var citations = response.GetProperty("metadata").GetProperty("citations").GetString()!.Split(' ');
        Assert.InRange(citations.Length, 1, 2);
        Assert.All(citations, id => Assert.Contains($"[{id}]", knowledge, StringComparison.Ordinal));
        Assert.Equal("How long is the pump warranty?", sent[2].GetProperty("content").GetString());
        await refused.AssertOpenAIError(HttpStatusCode.BadRequest, "context_policy.window_turns");
    }

    [Fact]
    public async Task A_tenants_default_knowledge_base_grounds_its_stateless_responses_but_not_its_chat_completions()
    {
        var admin = new Tenancy.TenantClient(Gateway.Http());
        var tenant = await admin.CreateTenant();
        var (_, secret) = await admin.CreateKey(tenant);
        using var http = Gateway.Http(secret);
        var kb = await CreateKnowledgeBase(http);
        await Ingest(http, kb, "manual.md", Manual);
        using var update = await Gateway.Http().PostAsync($"/v1/admin/tenants/{tenant}", ChatCompletionsTests.Json($$$"""{"context_policy":{"knowledge_bases":["{{{kb}}}"]}}"""));
        Assert.Equal(HttpStatusCode.OK, update.StatusCode);

        using var response = await http.PostAsync("/v1/responses", ChatCompletionsTests.Json("""{"model":"remote","input":"Is the boiler under warranty?"}"""));
        using var chat = await http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json("""{"model":"remote","messages":[{"role":"user","content":"Is the boiler still under warranty?"}]}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        var received = await Upstream.ReceivedRequests();
        var grounded = received.Last(r => r.GetRawText().Contains("Is the boiler under", StringComparison.Ordinal)).GetProperty("messages");
        var plain = received.Last(r => r.GetRawText().Contains("Is the boiler still", StringComparison.Ordinal)).GetProperty("messages");
        Assert.StartsWith("Knowledge that may help", grounded[0].GetProperty("content").GetString(), StringComparison.Ordinal);
        Assert.Contains(kb, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("metadata").GetProperty("citations").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, plain.GetArrayLength()); // chat completions pass the client's messages as they are
    }

    [Fact]
    public async Task Another_tenant_can_neither_read_nor_attach_a_knowledge_base()
    {
        using var http = Gateway.Http();
        using var other = Gateway.Http(GatewayFactory.OtherTenantKey);
        var kb = await CreateKnowledgeBase(http);

        using var read = await other.GetAsync(new Uri($"/v1/knowledge_bases/{kb}", UriKind.Relative));
        using var attach = await other.PostAsync("/v1/conversations", ChatCompletionsTests.Json($$$"""{"context_policy":{"knowledge_bases":["{{{kb}}}"]}}"""));
        using var ingest = await other.PostAsync($"/v1/knowledge_bases/{kb}/documents", ChatCompletionsTests.Json("""{"text":"hello"}"""));

        await read.AssertOpenAIError(HttpStatusCode.NotFound);
        await attach.AssertOpenAIError(HttpStatusCode.NotFound, "context_policy.knowledge_bases");
        await ingest.AssertOpenAIError(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Deleting_a_document_or_a_knowledge_base_removes_its_vectors()
    {
        using var http = Gateway.Http();
        var store = Gateway.Services.GetRequiredService<IVectorStore>();
        var kb = await CreateKnowledgeBase(http);
        var kept = (await Ingest(http, kb, "a.txt", "The office opens at nine.")).GetProperty("id").GetString()!;
        var removed = (await Ingest(http, kb, "b.txt", "The office closes at six.")).GetProperty("id").GetString()!;
        var index = store.For("default", KnowledgeScopes.Scope(kb));
        var before = await index.Sources();

        using var deleteDocument = await http.DeleteAsync(new Uri($"/v1/knowledge_bases/{kb}/documents/{removed}", UriKind.Relative));
        var afterDocument = await index.Sources();
        using var deleteKnowledgeBase = await http.DeleteAsync(new Uri($"/v1/knowledge_bases/{kb}", UriKind.Relative));

        Assert.Equal(new[] { kept, removed }.Order(StringComparer.Ordinal), before.Order(StringComparer.Ordinal));
        Assert.Equal(HttpStatusCode.OK, deleteDocument.StatusCode);
        Assert.Equal([kept], afterDocument);
        Assert.Equal(HttpStatusCode.OK, deleteKnowledgeBase.StatusCode);
        Assert.Empty(await index.Sources());
    }

    [Fact]
    public void Chunks_hold_at_most_the_chunk_size_overlap_their_neighbours_and_cover_the_document()
    {
        var chunks = new Chunker(TokenCounter.Shared).Split(Manual);

        Assert.True(chunks.Count > 2);
        Assert.All(chunks, c => Assert.True(TokenCounter.Shared.Count(c) <= Chunker.ChunkTokens + 2));
        Assert.All(chunks.Zip(chunks.Skip(1)), pair => Assert.Contains(Tail(pair.First), Words(pair.Second), StringComparison.Ordinal)); // each chunk repeats where the last one ended
        var words = Manual.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        Assert.Subset(chunks.SelectMany(c => c.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries)).ToHashSet(StringComparer.Ordinal), words);
    }

    private static string Words(string text) => string.Join(' ', text.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries));

    /// <summary>The last three words of a chunk: the overlap carries them into the next one.</summary>
    private static string Tail(string chunk) => string.Join(' ', Words(chunk).Split(' ')[^3..]);

    private static string Filler(string sentence, int times) => string.Join(' ', Enumerable.Repeat(sentence, times));

    private static Task<string> CreateKnowledgeBase(HttpClient http) => new KnowledgeBaseClient(http).Create();

    /// <summary>Uploads a document and waits until its chunks are all searchable.</summary>
    private static Task<JsonElement> Ingest(HttpClient http, string kb, string filename, string text) => new KnowledgeBaseClient(http).Ingest(kb, filename, text);

    private static async Task<string> CreateConversation(HttpClient http, string kb)
    {
        using var created = await http.PostAsync("/v1/conversations", ChatCompletionsTests.Json($$$"""{"context_policy":{"knowledge_bases":["{{{kb}}}"],"knowledge_top_k":2}}"""));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        return JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
    }
}
