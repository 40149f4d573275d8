using Conversations.Api.Endpoints;
using Conversations.Api.Errors;
using Conversations.Api.Hosting;
using Conversations.Api.Mcp;
using Conversations.Api.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Scalar.AspNetCore;

namespace Conversations.Api;

/// <summary>Adds and maps the OpenAI-compatible HTTP API, in a silo (embedded) or in a client process.</summary>
public static class ConversationsApi
{
    /// <summary>Largest accepted request body; OpenAI's own limit is larger, but a chat turn never needs more.</summary>
    public const long MaxRequestBodyBytes = 8 * 1024 * 1024;

    public static IHostApplicationBuilder AddConversationsApi(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.Configure<Security.ApiKeyOptions>(builder.Configuration.GetSection(Security.ApiKeyOptions.Section));
        services.Configure<Media.MediaOptions>(builder.Configuration.GetSection(Media.MediaOptions.Section));
        services.Configure<Audit.AuditOptions>(builder.Configuration.GetSection(Audit.AuditOptions.Section));
        services.AddSingleton<ApiKeyAuthenticator>();
        services.AddSingleton<KeyRevocationSubscription>();
        services.AddHostedService(sp => sp.GetRequiredService<KeyRevocationSubscription>());
        services.AddHealthChecks().AddCheck<KeyRevocationSubscription.HealthCheck>("key-revocations", tags: ["ready"]);
        services.AddTrustedProxies(builder.Configuration);
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorization();
        services.ConfigureHttpJsonOptions(options => ApiJson.Configure(options.SerializerOptions));
        services.Configure<KestrelServerOptions>(options => options.Limits.MaxRequestBodySize = MaxRequestBodyBytes);
        services.AddExceptionHandler<OpenAIExceptionHandler>();
        services.AddProblemDetails();
        services.AddConversationsOpenApi();
        services.AddGatewayMcpServer();
        services.TryAddTimeProvider();
        if (!services.Any(d => d.ServiceType == typeof(IStatelessInference)))
        {
            services.AddSingleton<IStatelessInference, Endpoints.LaneInference>(); // a client-only process; a silo registers its own
        }

        return builder;
    }

    public static WebApplication MapConversationsApi(this WebApplication app)
    {
        GatewayOverhead.Measure(app); // first: the clock starts before authentication
        app.UseExceptionHandler();
        app.UseStatusCodePages(context => context.HttpContext.Response.ContentLength is null && !context.HttpContext.Response.HasStarted
            ? ApiErrors.WriteAsync(context.HttpContext, StatusError(context.HttpContext))
            : Task.CompletedTask);
        app.UseTrustedProxies(); // the caller's address, before the key's allowlist is checked
        app.UseAuthentication();
        app.UseAuthorization();

        var v1 = app.MapGroup("/v1").RequireAuthorization();
        v1.MapChatCompletions()
            .MapMessages()
            .MapResponses()
            .MapConversations()
            .MapConversationContext()
            .MapKnowledgeBases()
            .MapEmbeddings()
            .MapFiles()
            .MapModels()
            .MapAdmin()
            .MapAccessRequests()
            .MapRouteAdmin()
            .MapCacheAdmin()
            .MapWebhookAdmin()
            .MapPromptAdmin()
            .MapMcpServers()
            .MapUsage()
            .MapAudit();
        // No fallback route: it would win over routing's own 405 (wrong method) and 415 (wrong content type), which the
        // status code pages above answer in OpenAI's shape, as they do an unknown URL's 404.

        app.MapGatewayMcpServer();
        app.MapOrleansDashboardForAdmins();
        app.MapOpenApi();
        app.MapScalarApiReference(options => options.WithTitle("Conversations API"));
        return app;
    }

    private static GatewayError StatusError(HttpContext context) => context.Response.StatusCode switch
    {
        404 => InvalidUrl(context.Request),
        405 => new GatewayError(405, "invalid_request_error", "method_not_allowed", $"Method {context.Request.Method} is not allowed on {context.Request.Path}."),
        415 => new GatewayError(415, "invalid_request_error", "unsupported_media_type", "Send the request body as application/json (Content-Type: application/json)."),
        var status => new GatewayError(status, status >= 500 ? "server_error" : "invalid_request_error", null, $"The request failed with status {status}."),
    };

    private static GatewayError InvalidUrl(HttpRequest request) =>
        new(404, "invalid_request_error", "unknown_url", $"Invalid URL ({request.Method} {request.Path}).");

    private static void TryAddTimeProvider(this IServiceCollection services)
    {
        if (!services.Any(d => d.ServiceType == typeof(TimeProvider)))
        {
            services.AddSingleton(TimeProvider.System);
        }
    }
}
