using Conversations.Api.Errors;
using Conversations.Api.Security;
using Conversations.Context;
using Conversations.Memory;
using Conversations.Tenancy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Conversations.Api.Endpoints;

/// <summary>
/// A tenant's knowledge bases (RAG): create, upload plain-text or Markdown documents (chunked by
/// tokens with overlap, then embedded locally and indexed in the background), follow their ingestion,
/// list and delete. Conversations and requests attach them through <c>context_policy.knowledge_bases</c>.
/// </summary>
public static class KnowledgeBaseEndpoints
{
    public const int MaxDocumentCharacters = 500_000;

    public static RouteGroupBuilder MapKnowledgeBases(this RouteGroupBuilder v1)
    {
        var kbs = v1.MapGroup("/knowledge_bases").WithTags("Knowledge bases").RequireScope(EndpointGroups.Knowledge);
        kbs.MapPost("/", Create).WithSummary("Create a knowledge base.")
            .Accepts<KnowledgeBaseCreateJson>("application/json").Produces<KnowledgeBaseJson>().Produces<OpenAIErrorBody>(400);
        kbs.MapGet("/", List).WithSummary("List the tenant's knowledge bases, oldest first.").Produces<ListJson<KnowledgeBaseJson>>();
        kbs.MapGet("/{knowledgeBaseId}", Get).WithSummary("Retrieve a knowledge base.").Produces<KnowledgeBaseJson>().Produces<OpenAIErrorBody>(404);
        kbs.MapDelete("/{knowledgeBaseId}", Delete).WithSummary("Delete a knowledge base, its documents and their vectors.")
            .Produces<DeletedJson>().Produces<OpenAIErrorBody>(404);
        kbs.MapPost("/{knowledgeBaseId}/documents", AddDocument)
            .WithSummary("Upload a document: chunked by tokens with overlap, then embedded and indexed in the background (202, status processing); "
                + "the same file name and text answers with the document already there (200).")
            .Accepts<DocumentCreateJson>("application/json").Produces<DocumentJson>(202).Produces<DocumentJson>()
            .Produces<OpenAIErrorBody>(400).Produces<OpenAIErrorBody>(404).Produces<OpenAIErrorBody>(422);
        kbs.MapGet("/{knowledgeBaseId}/documents", ListDocuments).WithSummary("List a knowledge base's documents.")
            .Produces<ListJson<DocumentJson>>().Produces<OpenAIErrorBody>(404);
        kbs.MapGet("/{knowledgeBaseId}/documents/{documentId}", GetDocument).WithSummary("Retrieve a document: its ingestion's status and progress.")
            .Produces<DocumentJson>().Produces<OpenAIErrorBody>(404);
        kbs.MapDelete("/{knowledgeBaseId}/documents/{documentId}", DeleteDocument).WithSummary("Delete a document and its vectors, stopping its ingestion.")
            .Produces<DeletedJson>().Produces<OpenAIErrorBody>(404);
        return v1;
    }

    /// <summary>
    /// What a policy names must be the caller's: its knowledge bases (404 for another tenant's, as for any
    /// id of another tenant) and summarizer and extractor models its key may use.
    /// </summary>
    /// <param name="tenant">The tenant the policy is for; the caller's own by default.</param>
    public static async Task<GatewayError?> CheckPolicy(ContextPolicy? policy, ApiServices api, string param, string? tenant = null)
    {
        foreach (var (model, field) in new[] { (policy?.Summarizer, "summarizer"), (policy?.Extractor, "extractor") })
        {
            if (model is not null && !api.Caller.MayUseModel(model))
            {
                return GatewayError.ModelNotFound(model) with { Param = $"{param}.{field}" };
            }
        }

        foreach (var kb in policy?.KnowledgeBases ?? [])
        {
            if (!(await api.Grains.GetGrain<IKnowledgeBaseGrain>(GrainKeys.For(tenant ?? api.Tenant, kb)).Get()).IsSuccess)
            {
                return GatewayError.NotFound("knowledge base", kb, param + ".knowledge_bases");
            }
        }

        return null;
    }

    private static async Task<IResult> Create([AsParameters] ApiServices api)
    {
        var body = await RequestBody.ReadAsync<KnowledgeBaseCreateJson>(api.Http.Request);
        if (!body.IsSuccess)
        {
            return body.Error.ToResult();
        }

        if (body.Value.Name is not { Length: > 0 and <= 256 } name)
        {
            return GatewayError.Invalid("'name' is required: 1 to 256 characters.", "name", "invalid_value").ToResult();
        }

        var created = await Grain(Ids.New(Ids.KnowledgeBase), api).Create(name);
        return created.IsSuccess ? TypedResults.Json(KnowledgeBaseJson.From(created.Value), ApiJson.Options) : created.Error.ToResult();
    }

    /// <summary>The tenant's knowledge bases, oldest first: those its list names that answer (a failed creation leaves an id that does not).</summary>
    public static async Task<IReadOnlyList<KnowledgeBaseInfo>> ListAll(IGrainFactory grains, string tenant)
    {
        var ids = await grains.GetGrain<IKnowledgeBaseDirectoryGrain>(tenant).List();
        var found = await Task.WhenAll(ids.Select(id => grains.GetGrain<IKnowledgeBaseGrain>(GrainKeys.For(tenant, id)).Get()));
        return [.. found.Where(kb => kb.IsSuccess).Select(kb => kb.Value!)];
    }

    private static async Task<IResult> List([AsParameters] ApiServices api)
    {
        var data = (await ListAll(api.Grains, api.Tenant)).Select(KnowledgeBaseJson.From).ToList();
        return TypedResults.Json(new ListJson<KnowledgeBaseJson>(data, data.FirstOrDefault()?.Id, data.LastOrDefault()?.Id, false), ApiJson.Options);
    }

    private static async Task<IResult> Get(string knowledgeBaseId, [AsParameters] ApiServices api)
    {
        if (!Ids.IsValid(knowledgeBaseId, Ids.KnowledgeBase))
        {
            return NotFound(knowledgeBaseId);
        }

        var kb = await Grain(knowledgeBaseId, api).Get();
        return kb.IsSuccess ? TypedResults.Json(KnowledgeBaseJson.From(kb.Value), ApiJson.Options) : kb.Error.ToResult();
    }

    private static async Task<IResult> Delete(string knowledgeBaseId, [AsParameters] ApiServices api)
    {
        if (!Ids.IsValid(knowledgeBaseId, Ids.KnowledgeBase))
        {
            return NotFound(knowledgeBaseId);
        }

        var deleted = await Grain(knowledgeBaseId, api).Delete();
        return deleted.IsSuccess
            ? TypedResults.Json(new DeletedJson(knowledgeBaseId, "knowledge_base.deleted", true), ApiJson.Options)
            : deleted.Error.ToResult();
    }

    private static async Task<IResult> AddDocument(string knowledgeBaseId, [AsParameters] ApiServices api)
    {
        var idempotency = await IdempotencyHeader.ReadAsync(api.Http.Request);
        if (!idempotency.IsSuccess)
        {
            return idempotency.Error.ToResult();
        }

        var body = await RequestBody.ReadAsync<DocumentCreateJson>(api.Http.Request);
        if (!body.IsSuccess)
        {
            return body.Error.ToResult();
        }

        var json = body.Value;
        if (json.Text is not { Length: > 0 and <= MaxDocumentCharacters } text || string.IsNullOrWhiteSpace(text))
        {
            return GatewayError.Invalid($"'text' is required: 1 to {MaxDocumentCharacters} characters.", "text", "invalid_value").ToResult();
        }

        var format = json.Format ?? (json.Filename?.EndsWith(".md", StringComparison.OrdinalIgnoreCase) == true ? DocumentFormats.Markdown : DocumentFormats.Text);
        if (!DocumentFormats.IsKnown(format))
        {
            return GatewayError.Invalid("Invalid 'format': expected 'text' or 'markdown'.", "format", "invalid_value").ToResult();
        }

        if (json.Filename is { Length: > 256 })
        {
            return GatewayError.Invalid("'filename' is at most 256 characters.", "filename", "invalid_value").ToResult();
        }

        if (!Ids.IsValid(knowledgeBaseId, Ids.KnowledgeBase))
        {
            return NotFound(knowledgeBaseId);
        }

        var added = await Grain(knowledgeBaseId, api).AddDocument(new NewDocument(Ids.New(Ids.Document), json.Filename ?? "document", format, text), idempotency.Value);
        if (!added.IsSuccess)
        {
            return added.Error.ToResult();
        }

        // An upload that started the ingestion, and its retries, are accepted; one that found the same document already there is not.
        var document = added.Value.Document;
        api.Http.Response.Headers.Location = $"/v1/knowledge_bases/{knowledgeBaseId}/documents/{document.Id}";
        return TypedResults.Json(DocumentJson.From(knowledgeBaseId, document), ApiJson.Options,
            statusCode: added.Value.Outcome == DocumentUploadOutcome.Existing ? StatusCodes.Status200OK : StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> GetDocument(string knowledgeBaseId, string documentId, [AsParameters] ApiServices api)
    {
        if (!Ids.IsValid(knowledgeBaseId, Ids.KnowledgeBase))
        {
            return NotFound(knowledgeBaseId);
        }

        var document = await Grain(knowledgeBaseId, api).GetDocument(documentId);
        return document.IsSuccess ? TypedResults.Json(DocumentJson.From(knowledgeBaseId, document.Value), ApiJson.Options) : document.Error.ToResult();
    }

    private static async Task<IResult> ListDocuments(string knowledgeBaseId, [AsParameters] ApiServices api)
    {
        if (!Ids.IsValid(knowledgeBaseId, Ids.KnowledgeBase))
        {
            return NotFound(knowledgeBaseId);
        }

        var documents = await Grain(knowledgeBaseId, api).ListDocuments();
        if (!documents.IsSuccess)
        {
            return documents.Error.ToResult();
        }

        var data = documents.Value.Select(d => DocumentJson.From(knowledgeBaseId, d)).ToList();
        return TypedResults.Json(new ListJson<DocumentJson>(data, data.FirstOrDefault()?.Id, data.LastOrDefault()?.Id, false), ApiJson.Options);
    }

    private static async Task<IResult> DeleteDocument(string knowledgeBaseId, string documentId, [AsParameters] ApiServices api)
    {
        if (!Ids.IsValid(knowledgeBaseId, Ids.KnowledgeBase))
        {
            return NotFound(knowledgeBaseId);
        }

        var deleted = await Grain(knowledgeBaseId, api).DeleteDocument(documentId);
        return deleted.IsSuccess
            ? TypedResults.Json(new DeletedJson(documentId, "knowledge_base.document.deleted", true), ApiJson.Options)
            : deleted.Error.ToResult();
    }

    private static IKnowledgeBaseGrain Grain(string knowledgeBaseId, ApiServices api) =>
        api.Grains.GetGrain<IKnowledgeBaseGrain>(GrainKeys.For(api.Tenant, knowledgeBaseId));

    private static IResult NotFound(string knowledgeBaseId) => GatewayError.NotFound("knowledge base", knowledgeBaseId).ToResult();
}
