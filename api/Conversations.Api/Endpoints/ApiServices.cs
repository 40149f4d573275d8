using Conversations.Api.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;

namespace Conversations.Api.Endpoints;

/// <summary>What every handler needs, bound once with <c>[AsParameters]</c>.</summary>
public sealed record ApiServices(
    HttpContext Http,
    [property: FromServices] IGrainFactory Grains,
    [property: FromServices] ILoggerFactory LoggerFactory,
    [property: FromServices] TimeProvider Clock)
{
    /// <summary>The caller's tenant; every grain key the API builds starts with it.</summary>
    public string Tenant => Http.User.Tenant();

    public CancellationToken Aborted => Http.RequestAborted;

    public ILogger Logger => LoggerFactory.CreateLogger("Conversations.Api");

    public IConversationGrain Conversation(string id) => Grains.GetGrain<IConversationGrain>(GrainKeys.For(Tenant, id));

    public IResponseGrain Response(string id) => Grains.GetGrain<IResponseGrain>(GrainKeys.For(Tenant, id));

    public IInferenceGrain Inference => Grains.GetGrain<IInferenceGrain>(0);
}
