using Conversations.Api.Security;
using Conversations.Api.Errors;
using Conversations.Tenancy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Conversations.Api.Endpoints;

/// <summary>The Conversations API: a conversation and its items, kept by the conversation grain.</summary>
public static class ConversationsEndpoints
{
    private const int MaxItemsPerRequest = 20;

    public static RouteGroupBuilder MapConversations(this RouteGroupBuilder v1)
    {
        var conversations = v1.MapGroup("/conversations").WithTags("Conversations").RequireScope(EndpointGroups.Conversations);
        conversations.MapPost("/", Create).WithSummary("Create a conversation, optionally with initial items.")
            .Accepts<ConversationCreateJson>(isOptional: true, "application/json").Produces<ConversationJson>().Produces<OpenAIErrorBody>(400);
        conversations.MapGet("/{conversationId}", Get).WithSummary("Retrieve a conversation.")
            .Produces<ConversationJson>().Produces<OpenAIErrorBody>(404);
        conversations.MapPost("/{conversationId}", Update).WithSummary("Update a conversation's metadata.")
            .Accepts<ConversationUpdateJson>("application/json").Produces<ConversationJson>().Produces<OpenAIErrorBody>(404);
        conversations.MapDelete("/{conversationId}", Delete).WithSummary("Delete a conversation and its items.")
            .Produces<DeletedJson>().Produces<OpenAIErrorBody>(404);
        conversations.MapGet("/{conversationId}/items", ListItems).WithSummary("List a conversation's items.")
            .Produces<ListJson<ItemJson>>().Produces<OpenAIErrorBody>(404);
        conversations.MapPost("/{conversationId}/items", AddItems).WithSummary("Append items to a conversation.")
            .Accepts<ItemsCreateJson>("application/json").Produces<ListJson<ItemJson>>().Produces<OpenAIErrorBody>(404);
        conversations.MapGet("/{conversationId}/items/{itemId}", GetItem).WithSummary("Retrieve one item.")
            .Produces<ItemJson>().Produces<OpenAIErrorBody>(404);
        conversations.MapDelete("/{conversationId}/items/{itemId}", DeleteItem).WithSummary("Delete one item; returns the conversation.")
            .Produces<ConversationJson>().Produces<OpenAIErrorBody>(404);
        return v1;
    }

    private static async Task<IResult> Create([AsParameters] ApiServices api)
    {
        // Every field is optional, and so is the body itself.
        var body = await RequestBody.ReadOptionalAsync(api.Http.Request, new ConversationCreateJson(null, null));
        if (!body.IsSuccess)
        {
            return body.Error.ToResult();
        }

        if (Metadata.Validate(body.Value.Metadata) is { } invalid)
        {
            return invalid.ToResult();
        }

        var items = await ReadItems(body.Value.Items, api);
        if (!items.IsSuccess)
        {
            return items.Error.ToResult();
        }

        var policy = body.Value.ContextPolicy?.ToPolicy("context_policy");
        if (policy is { IsSuccess: false })
        {
            return policy.Value.Error.ToResult();
        }

        if (await KnowledgeBaseEndpoints.CheckPolicy(policy?.Value, api, "context_policy") is { } unknown)
        {
            return unknown.ToResult();
        }

        var created = await api.Conversation(Ids.New(Ids.Conversation)).Create(body.Value.Metadata ?? Metadata.Empty, items.Value, policy?.Value, api.Caller.Storage, api.StoresRedacted);
        return ToResult(created);
    }

    private static async Task<IResult> Get(string conversationId, [AsParameters] ApiServices api) =>
        Ids.IsValid(conversationId, Ids.Conversation)
            ? ToResult(await api.Conversation(conversationId).Get())
            : NotFound(conversationId);

    private static async Task<IResult> Update(string conversationId, [AsParameters] ApiServices api)
    {
        var body = await RequestBody.ReadAsync<ConversationUpdateJson>(api.Http.Request);
        if (!body.IsSuccess)
        {
            return body.Error.ToResult();
        }

        var (metadata, policyJson) = (body.Value.Metadata, body.Value.ContextPolicy);
        if (metadata is null && policyJson is null)
        {
            return GatewayError.Invalid("Missing required parameter: 'metadata'.", "metadata", "missing_required_parameter").ToResult();
        }

        if (Metadata.Validate(metadata) is { } invalid)
        {
            return invalid.ToResult();
        }

        var policy = policyJson?.ToPolicy("context_policy");
        if (policy is { IsSuccess: false })
        {
            return policy.Value.Error.ToResult();
        }

        if (await KnowledgeBaseEndpoints.CheckPolicy(policy?.Value, api, "context_policy") is { } unknown)
        {
            return unknown.ToResult();
        }

        return Ids.IsValid(conversationId, Ids.Conversation)
            ? ToResult(await api.Conversation(conversationId).Update(metadata, policy is { } set ? new PolicyChange(set.Value) : null))
            : NotFound(conversationId);
    }

    private static async Task<IResult> Delete(string conversationId, [AsParameters] ApiServices api)
    {
        if (!Ids.IsValid(conversationId, Ids.Conversation))
        {
            return NotFound(conversationId);
        }

        var deleted = await api.Conversation(conversationId).Delete();
        return deleted.IsSuccess
            ? TypedResults.Json(new DeletedJson(conversationId, "conversation.deleted", true), ApiJson.Options)
            : deleted.Error.ToResult();
    }

    private static async Task<IResult> ListItems(string conversationId, [AsParameters] ApiServices api, string? after, string? limit, string? order)
    {
        var query = ItemPaging.Parse(after, limit, order);
        if (!query.IsSuccess)
        {
            return query.Error.ToResult();
        }

        if (!Ids.IsValid(conversationId, Ids.Conversation))
        {
            return NotFound(conversationId);
        }

        var page = await api.Conversation(conversationId).ListItems(query.Value);
        return page.IsSuccess ? TypedResults.Json(ItemPaging.ToJson(page.Value), ApiJson.Options) : page.Error.ToResult();
    }

    private static async Task<IResult> AddItems(string conversationId, [AsParameters] ApiServices api)
    {
        var idempotency = await IdempotencyHeader.ReadAsync(api.Http.Request);
        if (!idempotency.IsSuccess)
        {
            return idempotency.Error.ToResult();
        }

        var body = await RequestBody.ReadAsync<ItemsCreateJson>(api.Http.Request);
        if (!body.IsSuccess)
        {
            return body.Error.ToResult();
        }

        if (body.Value.Items is not { Count: > 0 })
        {
            return GatewayError.Invalid("Missing required parameter: 'items'.", "items", "missing_required_parameter").ToResult();
        }

        var items = await ReadItems(body.Value.Items, api);
        if (!items.IsSuccess)
        {
            return items.Error.ToResult();
        }

        if (!Ids.IsValid(conversationId, Ids.Conversation))
        {
            return NotFound(conversationId);
        }

        var added = await api.Conversation(conversationId).AddItems(items.Value, idempotency.Value, api.Caller.Storage, api.StoresRedacted);
        return added.IsSuccess
            ? TypedResults.Json(ItemPaging.ToJson(new ItemPage(added.Value, HasMore: false)), ApiJson.Options)
            : added.Error.ToResult();
    }

    private static async Task<IResult> GetItem(string conversationId, string itemId, [AsParameters] ApiServices api)
    {
        if (!Ids.IsValid(conversationId, Ids.Conversation))
        {
            return NotFound(conversationId);
        }

        var item = await api.Conversation(conversationId).GetItem(itemId);
        return item.IsSuccess ? TypedResults.Json(ItemJson.From(item.Value), ApiJson.Options) : item.Error.ToResult();
    }

    private static async Task<IResult> DeleteItem(string conversationId, string itemId, [AsParameters] ApiServices api) =>
        Ids.IsValid(conversationId, Ids.Conversation)
            ? ToResult(await api.Conversation(conversationId).DeleteItem(itemId))
            : NotFound(conversationId);

    /// <summary>A request's <c>items</c>, each within the tenant's size for one, its files sent by id resolved.</summary>
    private static async Task<Result<List<NewItem>>> ReadItems(IReadOnlyList<InputItemJson?>? json, ApiServices api)
    {
        var items = InputItems.Read(json, "items", MaxItemsPerRequest, api.Media);
        return !items.IsSuccess ? items
            : api.Caller.Storage.RefuseLargeItem(items.Value, i => $"items[{i}]") is { } tooLarge ? tooLarge
            : await Media.FileParts.Resolve(items.Value, api);
    }

    private static IResult ToResult(Result<ConversationInfo> result) =>
        result.IsSuccess ? TypedResults.Json(ConversationJson.From(result.Value), ApiJson.Options) : result.Error.ToResult();

    private static IResult NotFound(string conversationId) => GatewayError.NotFound("conversation", conversationId).ToResult();
}
