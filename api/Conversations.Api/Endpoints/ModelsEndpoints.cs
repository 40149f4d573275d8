using Conversations.Api.Security;
using Conversations.Api.Errors;
using Conversations.Routing;
using Conversations.Tenancy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Conversations.Api.Endpoints;

/// <summary><c>GET /v1/models</c>: the model aliases the caller's tenant can call (platform routes and its own).</summary>
public static class ModelsEndpoints
{
    public static RouteGroupBuilder MapModels(this RouteGroupBuilder v1)
    {
        var models = v1.MapGroup("/models").WithTags("Models").RequireScope(EndpointGroups.Models);
        models.MapGet("/", List).WithSummary("List the models this gateway serves.").Produces<ListJson<ModelJson>>();
        models.MapGet("/{model}", Get).WithSummary("Retrieve one model.").Produces<ModelJson>().Produces<OpenAIErrorBody>(404);
        return v1;
    }

    private static async Task<IResult> List([AsParameters] ApiServices api)
    {
        var models = await api.Grains.GetGrain<ITenantRoutesGrain>(api.Tenant).ListModels();
        return TypedResults.Json(new { @object = "list", data = models.Where(m => api.Caller.MayUseModel(m.Id)).Select(ModelJson.From) }, ApiJson.Options);
    }

    private static async Task<IResult> Get(string model, [AsParameters] ApiServices api)
    {
        var models = await api.Grains.GetGrain<ITenantRoutesGrain>(api.Tenant).ListModels();
        return models.FirstOrDefault(m => m.Id == model && api.Caller.MayUseModel(m.Id)) is { } found
            ? TypedResults.Json(ModelJson.From(found), ApiJson.Options)
            : GatewayError.ModelNotFound(model).ToResult();
    }
}
