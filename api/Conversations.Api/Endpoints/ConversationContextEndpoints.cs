using System.Globalization;
using Conversations.Api.Errors;
using Conversations.Api.Security;
using Conversations.Context;
using Conversations.Tenancy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Conversations.Api.Endpoints;

/// <summary>
/// What the model sees of a conversation: a preview of the next turn's context (each section, its
/// tokens, what is left out and why), and the conversation's structured state (facts).
/// </summary>
public static class ConversationContextEndpoints
{
    public static RouteGroupBuilder MapConversationContext(this RouteGroupBuilder v1)
    {
        var conversations = v1.MapGroup("/conversations/{conversationId}").WithTags("Conversations").RequireScope(EndpointGroups.Conversations);
        conversations.MapGet("/context", Preview).WithSummary("Preview what the model would see on the next turn through ?model=.")
            .Produces<ContextViewJson>().Produces<OpenAIErrorBody>(400).Produces<OpenAIErrorBody>(404);
        conversations.MapGet("/state", GetState).WithSummary("Read the conversation's facts and rolling summary.")
            .Produces<ConversationStateJson>().Produces<OpenAIErrorBody>(404);
        conversations.MapPost("/state", UpdateState).WithSummary("Set facts (a null value removes one); the model sees them on every turn.")
            .Accepts<StateUpdateJson>("application/json").Produces<ConversationStateJson>().Produces<OpenAIErrorBody>(400).Produces<OpenAIErrorBody>(404);
        return v1;
    }

    /// <summary>The longest <c>input</c> a preview takes (a query string, not a request body).</summary>
    public const int MaxPreviewInput = 4_000;

    private static async Task<IResult> Preview(string conversationId, [AsParameters] ApiServices api)
    {
        var query = api.Http.Request.Query;
        if (query["model"].FirstOrDefault() is not { Length: > 0 } model)
        {
            return GatewayError.Invalid("Missing required parameter: 'model'.", "model", "missing_required_parameter").ToResult();
        }

        int? maxOutput = null;
        if (query["max_output_tokens"].FirstOrDefault() is { } text)
        {
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) || parsed is < 1 or > 1_000_000)
            {
                return GatewayError.Invalid("Invalid 'max_output_tokens': expected 1 to 1000000.", "max_output_tokens", "invalid_value").ToResult();
            }

            maxOutput = parsed;
        }

        // With ?input=, the turn that input would start: recall and knowledge searched for it, screened by the caller's injection policy.
        var input = query["input"].FirstOrDefault();
        if (input?.Length > MaxPreviewInput)
        {
            return GatewayError.Invalid($"Invalid 'input': at most {MaxPreviewInput} characters.", "input", "invalid_value").ToResult();
        }

        if (!api.Caller.MayUseModel(model))
        {
            return GatewayError.ModelNotFound(model).ToResult();
        }

        if (!Ids.IsValid(conversationId, Ids.Conversation))
        {
            return GatewayError.NotFound("conversation", conversationId).ToResult();
        }

        var view = await api.Conversation(conversationId).PreviewContext(
            model, maxOutput, api.Caller.TenantContextPolicy, input is { Length: > 0 } ? input : null, api.Caller.Guardrails?.Injection);
        return view.IsSuccess ? TypedResults.Json(ContextViewJson.From(conversationId, model, view.Value), ApiJson.Options) : view.Error.ToResult();
    }

    private static async Task<IResult> GetState(string conversationId, [AsParameters] ApiServices api)
    {
        if (!Ids.IsValid(conversationId, Ids.Conversation))
        {
            return GatewayError.NotFound("conversation", conversationId).ToResult();
        }

        return Answer(conversationId, await api.Conversation(conversationId).GetMemory());
    }

    private static async Task<IResult> UpdateState(string conversationId, [AsParameters] ApiServices api)
    {
        var body = await RequestBody.ReadAsync<StateUpdateJson>(api.Http.Request);
        if (!body.IsSuccess)
        {
            return body.Error.ToResult();
        }

        if (body.Value.Facts is not { } facts)
        {
            return GatewayError.Invalid("Missing required parameter: 'facts'.", "facts", "missing_required_parameter").ToResult();
        }

        if (facts.Count > Facts.MaxCount
            || facts.Any(f => !Facts.IsValidKey(f.Key) || f.Value?.Length > Facts.MaxValueLength))
        {
            return GatewayError.Invalid(
                $"Invalid 'facts': at most {Facts.MaxCount}; keys are 1 to {Facts.MaxKeyLength} letters, digits, '.', '_' or '-'; values at most {Facts.MaxValueLength} characters.",
                "facts", "invalid_value").ToResult();
        }

        if (!Ids.IsValid(conversationId, Ids.Conversation))
        {
            return GatewayError.NotFound("conversation", conversationId).ToResult();
        }

        return Answer(conversationId, await api.Conversation(conversationId).UpdateFacts(facts));
    }

    private static IResult Answer(string conversationId, Result<ConversationMemory> memory) => memory.IsSuccess
        ? TypedResults.Json(ConversationStateJson.From(conversationId, memory.Value), ApiJson.Options)
        : memory.Error.ToResult();
}
