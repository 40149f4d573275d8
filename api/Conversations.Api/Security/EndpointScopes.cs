using Conversations.Api.Errors;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Conversations.Api.Security;

public static class EndpointScopes
{
    /// <summary>Refuses callers whose key is scoped to other endpoint groups (403).</summary>
    public static TBuilder RequireScope<TBuilder>(this TBuilder builder, string group) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) => context.HttpContext.User.Caller().MayUseEndpoints(group)
            ? await next(context)
            : ApiErrors.Forbidden($"This API key may not use the '{group}' endpoints.").ToResult());
}
