using Conversations.Api.Errors;
using Conversations.Api.Security;
using Conversations.Api.Streaming;
using Conversations.Tenancy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Conversations.Api.Endpoints;

/// <summary><c>POST /v1/embeddings</c>, routed, retried and admitted against quotas like chat.</summary>
public static class EmbeddingsEndpoints
{
    public static RouteGroupBuilder MapEmbeddings(this RouteGroupBuilder v1)
    {
        v1.MapPost("/embeddings", Create).WithTags("Embeddings").RequireScope(EndpointGroups.Chat)
            .WithSummary("Create embeddings (the local model 'local-embeddings' by default).")
            .Accepts<EmbeddingCreateJson>("application/json").Produces<EmbeddingListJson>().Produces<OpenAIErrorBody>(400).Produces<OpenAIErrorBody>(429);
        return v1;
    }

    private static async Task<IResult> Create([AsParameters] ApiServices api)
    {
        var body = await RequestBody.ReadAsync<EmbeddingCreateJson>(api.Http.Request);
        if (!body.IsSuccess)
        {
            return body.Error.ToResult();
        }

        var json = body.Value;
        if (string.IsNullOrWhiteSpace(json.Model))
        {
            return GatewayError.Invalid("Missing required parameter: 'model'.", "model", "missing_required_parameter").ToResult();
        }

        if (json.EncodingFormat is not (null or "float" or "base64"))
        {
            return GatewayError.Invalid("Invalid 'encoding_format': expected 'float' or 'base64'.", "encoding_format", "invalid_value").ToResult();
        }

        if (json.Dimensions is < 1 or > 65_536)
        {
            return GatewayError.Invalid("Invalid 'dimensions': expected a positive number.", "dimensions", "invalid_value").ToResult();
        }

        var inputs = json.ReadInput();
        var endUser = api.EndUser(json.User);
        if (!inputs.IsSuccess || !endUser.IsSuccess)
        {
            return (inputs.Error ?? endUser.Error!).ToResult();
        }

        var outcome = await api.Inference.Embed(new EmbeddingRequest(json.Model, inputs.Value, json.Dimensions, endUser.Value, api.Caller));
        CallHeaders.Write(api.Http.Response, outcome.Admission, outcome.Route);
        return outcome.Result is { } result
            ? TypedResults.Json(EmbeddingListJson.From(result, json.EncodingFormat == "base64"), ApiJson.Options)
            : outcome.Error!.ToResult();
    }
}
