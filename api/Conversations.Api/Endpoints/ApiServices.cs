using Conversations.Api.Security;
using Conversations.Tenancy;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Conversations.Api.Endpoints;

/// <summary>What every handler needs, bound once with <c>[AsParameters]</c>.</summary>
public sealed record ApiServices(
    HttpContext Http,
    [property: FromServices] IGrainFactory Grains,
    [property: FromServices] ILoggerFactory LoggerFactory,
    [property: FromServices] TimeProvider Clock,
    [property: FromServices] IStatelessInference Inference)
{
    /// <summary>The header that names the end user when a request body has no <c>user</c> field.</summary>
    public const string EndUserHeader = "x-conversations-user";

    /// <summary>The longest end user id accepted: it is kept per day in usage records and quota state.</summary>
    public const int MaxEndUserLength = 256;

    public Caller Caller => Http.User.Caller();

    /// <summary>The caller's tenant; every grain key the API builds starts with it.</summary>
    public string Tenant => Caller.Tenant;

    /// <summary>
    /// The end user a call is made for: the body's <c>user</c>, else the <see cref="EndUserHeader"/> header; a 400 naming
    /// the one that is longer than <see cref="MaxEndUserLength"/>.
    /// </summary>
    public Result<string?> EndUser(string? bodyUser)
    {
        var (user, param) = bodyUser is { Length: > 0 } ? (bodyUser, "user") : (Http.Request.Headers[EndUserHeader].FirstOrDefault(), EndUserHeader);
        return user is not { Length: > 0 } ? (string?)null
            : user.Length <= MaxEndUserLength ? user
            : GatewayError.Invalid(
                $"Invalid '{param}': string too long. Expected a string with maximum length {MaxEndUserLength}, but got a string with length {user.Length} instead.",
                param, "string_above_max_length");
    }

    /// <summary>The request's <c>Cache-Control</c> for the response cache: <c>no-store</c> wins over <c>no-cache</c>.</summary>
    public Caching.CacheDirective CacheControl =>
        Http.Request.Headers.CacheControl.ToString() is { Length: > 0 } value
            ? value.Contains("no-store", StringComparison.OrdinalIgnoreCase) ? Caching.CacheDirective.NoStore
            : value.Contains("no-cache", StringComparison.OrdinalIgnoreCase) ? Caching.CacheDirective.NoCache
            : Caching.CacheDirective.Default
            : Caching.CacheDirective.Default;

    /// <summary>The caller's PII policy when its conversation items are stored redacted; null when they are stored as sent.</summary>
    public Conversations.Guardrails.PiiPolicy? StoresRedacted => Caller.Guardrails?.Pii is { StoreRedacted: true } pii ? pii : null;

    public CancellationToken Aborted => Http.RequestAborted;

    public ILogger Logger => LoggerFactory.CreateLogger("Conversations.Api");

    /// <summary>Limits on the images, files and audio requests carry (<c>Conversations:Media</c>).</summary>
    public Media.MediaOptions Media => Http.RequestServices.GetRequiredService<IOptions<Media.MediaOptions>>().Value;

    public IConversationGrain Conversation(string id) => Grains.Reference<IConversationGrain>(GrainKeys.For(Tenant, id));

    public IResponseGrain Response(string id) => Grains.Reference<IResponseGrain>(GrainKeys.For(Tenant, id));
}
