using System.Net;
using System.Text.Json;
using Conversations.Tests.Api;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Context;

/// <summary>Drives the knowledge base API over HTTP for a test: knowledge bases, uploads, and waiting for ingestion.</summary>
public sealed class KnowledgeBaseClient(HttpClient http)
{
    /// <summary>A hang guard for an ingestion's end, not a speed assertion: a document near the maximum embeds for a while on a shared core.</summary>
    private static readonly TimeSpan IngestionDeadline = TimeSpan.FromMinutes(10);

    public async Task<string> Create(string name = "manuals")
    {
        using var created = await http.PostAsync("/v1/knowledge_bases", ChatCompletionsTests.Json(JsonSerializer.Serialize(new { name })));
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        return JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
    }

    /// <summary>Uploads a document, with an <c>Idempotency-Key</c> if given: the answer's status and body.</summary>
    public async Task<(HttpStatusCode Status, JsonElement Body)> Upload(string kb, string filename, string text, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/knowledge_bases/{kb}/documents")
        {
            Content = ChatCompletionsTests.Json(JsonSerializer.Serialize(new { filename, text })),
        };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        using var response = await http.SendAsync(request);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement);
    }

    /// <summary>Uploads a document and asserts it was accepted (202): the document as it was accepted.</summary>
    public async Task<JsonElement> Accepted(string kb, string filename, string text, string? idempotencyKey = null)
    {
        var (status, body) = await Upload(kb, filename, text, idempotencyKey);
        Assert.True(status == HttpStatusCode.Accepted, $"Expected 202, got {(int)status}: {body}");
        return body;
    }

    /// <summary>Uploads a document and waits for its ingestion to complete: the completed document.</summary>
    public async Task<JsonElement> Ingest(string kb, string filename, string text) =>
        await Completed(kb, (await Accepted(kb, filename, text)).GetProperty("id").GetString()!);

    public async Task<JsonElement> Document(string kb, string documentId)
    {
        using var response = await http.GetAsync(new Uri($"/v1/knowledge_bases/{kb}/documents/{documentId}", UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement;
    }

    public async Task<List<JsonElement>> Documents(string kb)
    {
        using var response = await http.GetAsync(new Uri($"/v1/knowledge_bases/{kb}/documents", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return [.. JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("data").EnumerateArray()];
    }

    /// <summary>Polls the document until its ingestion has ended, and asserts it completed.</summary>
    public async Task<JsonElement> Completed(string kb, string documentId)
    {
        var ended = await Eventually.Get(async () =>
        {
            var document = await Document(kb, documentId);
            return document.GetProperty("status").GetString() == "processing" ? (JsonElement?)null : document;
        }, IngestionDeadline);
        Assert.Equal("completed", ended.GetProperty("status").GetString());
        return ended;
    }
}
