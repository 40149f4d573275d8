using System.Net;
using System.Text.Json;
using Conversations.Api.Endpoints;
using Conversations.Embeddings;
using Conversations.Grains.Memory;
using Conversations.Memory;
using Conversations.Providers;
using Conversations.Tests.Api;
using Conversations.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Conversations.Tests.Context;

/// <summary>
/// A document upload is a job: accepted at once (202, processing), embedded in the background in batches whose progress the
/// document shows, searchable once completed, done once however often the upload is retried, stopped by a delete, resumed
/// after a restart, and counted against the knowledge base's chunk cap while it runs. The embedding model sits behind a gate
/// the tests close to hold a job where they want it; nothing here measures time.
/// </summary>
public sealed class KnowledgeIngestionTests : IAsyncLifetime
{
    private const string Fact = "The lighthouse keeper's cat is called Bartholomew and sleeps on the lamp room stairs.";

    private UpstreamServer _upstream = null!;
    private EmbeddingGate _gate = null!;
    private GatewayFactory _gateway = null!;

    public async ValueTask InitializeAsync()
    {
        _upstream = await UpstreamServer.StartAsync();
        _gate = new EmbeddingGate();
        _gateway = new GatewayFactory(_upstream.GatewaySettings("remote"), _gate.Install);
    }

    public async ValueTask DisposeAsync()
    {
        _gate.Open();
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
        _gate.Dispose();
    }

    [Fact]
    public async Task A_document_near_the_maximum_is_accepted_at_once_then_embedded_in_the_background_and_found_once_completed()
    {
        using var http = _gateway.Http();
        var kbs = new KnowledgeBaseClient(http);
        var kb = await kbs.Create();
        var text = Handbook(KnowledgeBaseEndpoints.MaxDocumentCharacters - 10_000);
        var expected = new Chunker(TokenCounter.Shared).Split(text).Count;

        var accepted = await kbs.Accepted(kb, "handbook.md", text);
        var id = accepted.GetProperty("id").GetString()!;
        var completed = await kbs.Completed(kb, id);

        Assert.Equal("processing", accepted.GetProperty("status").GetString());
        Assert.Equal(0, accepted.GetProperty("chunks_done").GetInt32());
        Assert.Equal(expected, accepted.GetProperty("chunks").GetInt32());
        Assert.True(expected > DocumentIngestion.BatchChunks * 10, $"{expected} chunks: the document takes many batches");
        Assert.Equal(expected, completed.GetProperty("chunks").GetInt32());
        Assert.Equal(expected, completed.GetProperty("chunks_done").GetInt32());
        Assert.Equal(expected, await VectorsOf(_gateway, kb, id));

        using var answered = await http.PostAsync("/v1/responses", ChatCompletionsTests.Json(
            $$$"""{"model":"remote","input":"What is the lighthouse keeper's cat called?","context_policy":{"knowledge_bases":["{{{kb}}}"],"knowledge_top_k":2}}"""));
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        var knowledge = (await _upstream.ReceivedRequests()).Last(r => r.GetRawText().Contains("cat called?", StringComparison.Ordinal))
            .GetProperty("messages")[0].GetProperty("content").GetString()!;
        Assert.Contains("Bartholomew", knowledge, StringComparison.Ordinal);
        Assert.Contains($"[{kb}/{id}#", knowledge, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_retry_with_the_same_idempotency_key_or_a_reupload_of_the_same_file_adds_no_chunks()
    {
        using var http = _gateway.Http();
        var kbs = new KnowledgeBaseClient(http);
        var kb = await kbs.Create();
        var text = Handbook(20_000);
        var key = Guid.NewGuid().ToString("N");
        _gate.Close(); // the job stays at its first batch while the retries arrive

        var id = (await kbs.Accepted(kb, "handbook.md", text, key)).GetProperty("id").GetString()!;
        var retried = await kbs.Upload(kb, "handbook.md", text, key);
        var reuploaded = await kbs.Upload(kb, "handbook.md", text);
        var otherKey = await kbs.Upload(kb, "handbook.md", text, Guid.NewGuid().ToString("N"));
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/knowledge_bases/{kb}/documents")
        {
            Content = ChatCompletionsTests.Json(JsonSerializer.Serialize(new { filename = "handbook.md", text = "another text" })),
        };
        request.Headers.Add("Idempotency-Key", key);
        using var reused = await http.SendAsync(request);
        _gate.Open();
        var completed = await kbs.Completed(kb, id);
        var afterwards = await kbs.Upload(kb, "handbook.md", text);

        Assert.Equal((HttpStatusCode.Accepted, id), (retried.Status, retried.Body.GetProperty("id").GetString()));
        Assert.Equal((HttpStatusCode.OK, id), (reuploaded.Status, reuploaded.Body.GetProperty("id").GetString()));
        Assert.Equal((HttpStatusCode.OK, id), (otherKey.Status, otherKey.Body.GetProperty("id").GetString()));
        await reused.AssertOpenAIError(HttpStatusCode.UnprocessableEntity, "Idempotency-Key");
        Assert.Equal((HttpStatusCode.OK, id, "completed"), (afterwards.Status, afterwards.Body.GetProperty("id").GetString(), afterwards.Body.GetProperty("status").GetString()));
        Assert.Equal([id], (await kbs.Documents(kb)).Select(d => d.GetProperty("id").GetString()));
        Assert.Equal(completed.GetProperty("chunks").GetInt32(), await VectorsOf(_gateway, kb, id));
        Assert.Equal([id], await Index(_gateway, kb).Sources());
    }

    [Fact]
    public async Task Deleting_a_document_mid_ingestion_stops_its_job_and_leaves_no_vectors()
    {
        using var http = _gateway.Http();
        var kbs = new KnowledgeBaseClient(http);
        var kb = await kbs.Create();
        _gate.Close();
        var id = (await kbs.Accepted(kb, "handbook.md", Handbook(40_000))).GetProperty("id").GetString()!;

        _gate.Let(1);
        await MidJob(kbs, kb, id, _gate);
        var midJob = await Index(_gateway, kb).Sources();
        using var deleted = await http.DeleteAsync(new Uri($"/v1/knowledge_bases/{kb}/documents/{id}", UriKind.Relative));
        _gate.Open(); // the batch held at the gate finishes embedding after the delete
        var later = await kbs.Ingest(kb, "later.txt", "The office opens at nine."); // ingested after the held batch's pass: passes run one at a time
        using var gone = await http.GetAsync(new Uri($"/v1/knowledge_bases/{kb}/documents/{id}", UriKind.Relative));

        Assert.Equal([id], midJob);
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        await gone.AssertOpenAIError(HttpStatusCode.NotFound);
        Assert.Equal([later.GetProperty("id").GetString()!], await Index(_gateway, kb).Sources());
        Assert.Equal(0, await VectorsOf(_gateway, kb, id));
    }

    [Fact]
    public async Task An_ingestion_cut_short_by_a_restart_resumes_at_its_next_batch()
    {
        var data = Directory.CreateTempSubdirectory("conversations-ingestion-");
        try
        {
            var settings = new Dictionary<string, string?>
            {
                ["Conversations:Cluster:Storage"] = "Local",
                ["Conversations:Cluster:LocalStoragePath"] = Path.Combine(data.FullName, "conversations.db"),
            };
            string kb, id;
            using (var before = new EmbeddingGate())
            {
                await using var first = new GatewayFactory(settings, before.Install);
                using var http = first.Http();
                var kbs = new KnowledgeBaseClient(http);
                kb = await kbs.Create();
                before.Close();
                id = (await kbs.Accepted(kb, "handbook.md", Handbook(40_000))).GetProperty("id").GetString()!;
                before.Let(1);
                await MidJob(kbs, kb, id, before);
                before.FailWaiting(); // the second batch dies with the process
            }

            using var after = new EmbeddingGate();
            await using var second = new GatewayFactory(settings, after.Install);
            using var again = second.Http();
            var completed = await new KnowledgeBaseClient(again).Completed(kb, id); // reading the document activates its knowledge base

            var chunks = completed.GetProperty("chunks").GetInt32();
            Assert.Equal(chunks, completed.GetProperty("chunks_done").GetInt32());
            Assert.Equal(chunks - DocumentIngestion.BatchChunks, after.Embedded); // only what the first process had not stored
            Assert.Equal(chunks, await VectorsOf(second, kb, id));
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task The_chunk_cap_counts_documents_still_being_ingested_and_a_refusal_names_it()
    {
        using var http = _gateway.Http();
        var kbs = new KnowledgeBaseClient(http);
        var kb = await kbs.Create();
        var text = string.Concat(Enumerable.Repeat("x ", KnowledgeBaseEndpoints.MaxDocumentCharacters / 2));
        var chunks = new Chunker(TokenCounter.Shared).Split(text).Count;
        _gate.Close(); // the first document stays processing

        var first = (await kbs.Accepted(kb, "a.txt", text)).GetProperty("id").GetString();
        var (status, refused) = await kbs.Upload(kb, "b.txt", text);

        Assert.True(chunks > KnowledgeBaseGrain.MaxChunks / 2, $"{chunks} chunks: two documents exceed the cap");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = refused.GetProperty("error");
        Assert.Equal(("knowledge_base_full", "text"), (error.GetProperty("code").GetString(), error.GetProperty("param").GetString()));
        Assert.Contains($"at most {KnowledgeBaseGrain.MaxChunks} chunks", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal([first], (await kbs.Documents(kb)).Select(d => d.GetProperty("id").GetString()));
        using var deleted = await http.DeleteAsync(new Uri($"/v1/knowledge_bases/{kb}", UriKind.Relative)); // stops the job
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
    }

    /// <summary>Waits until the document's first batch is stored and its next one waits at the gate.</summary>
    private static Task<JsonElement> MidJob(KnowledgeBaseClient kbs, string kb, string id, EmbeddingGate gate) => Eventually.Get(async () =>
    {
        var document = await kbs.Document(kb, id);
        return document.GetProperty("chunks_done").GetInt32() == DocumentIngestion.BatchChunks && gate.Waiting == 1 ? document : (JsonElement?)null;
    }, TimeSpan.FromMinutes(5)); // a hang guard: the first batch also loads the model, on cores other builds share

    private static ScopedVectors Index(GatewayFactory gateway, string kb) =>
        gateway.Services.GetRequiredService<IVectorStore>().For("default", KnowledgeScopes.Scope(kb));

    /// <summary>How many vectors the knowledge base's index holds for the document: a search that every vector passes.</summary>
    private static async Task<int> VectorsOf(GatewayFactory gateway, string kb, string documentId)
    {
        var all = await Index(gateway, kb).Search([.. Enumerable.Repeat(1f, LocalEmbeddingGenerator.Dimensions)], int.MaxValue, -2f);
        return all.Count(match => match.Source == documentId);
    }

    /// <summary>A Markdown handbook of about <paramref name="characters"/> characters, with <see cref="Fact"/> in its middle.</summary>
    private static string Handbook(int characters)
    {
        var text = new System.Text.StringBuilder("# Coffee roastery handbook\n\n");
        var told = false;
        for (var section = 1; text.Length < characters - 400; section++)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"## Section {section}\n");
            text.Append(System.Globalization.CultureInfo.InvariantCulture,
                $"Batch {section} of green beans is roasted for {9 + (section % 7)} minutes at {200 + (section % 30)} degrees, rested for {section % 5 + 1} days, then packed in bags of {250 * (section % 4 + 1)} grams. ");
            text.Append("Staff weigh every bag twice, label it with the roast date and the farm, and store it away from light and moisture.\n\n");
            if (!told && text.Length > characters / 2)
            {
                text.Append(Fact).Append("\n\n");
                told = true;
            }
        }

        return text.ToString();
    }
}
