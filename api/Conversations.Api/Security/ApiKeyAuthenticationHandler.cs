using System.Security.Claims;
using System.Text.Encodings.Web;
using Conversations.Api.Errors;
using Conversations.Tenancy;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Conversations.Api.Security;

/// <summary>Authenticates <c>Authorization: Bearer &lt;key&gt;</c> (or <c>x-api-key</c>) and answers failures in OpenAI's error shape.</summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyAuthenticator keys) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    /// <summary>The header Anthropic's clients send the key in; taken when there is no <c>Authorization</c> header.</summary>
    public const string AnthropicKeyHeader = "x-api-key";

    private const string FailureKey = "conversations.auth.error";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (header.Length == 0 && Request.Headers[AnthropicKeyHeader].ToString() is { Length: > 0 } anthropicKey)
        {
            header = "Bearer " + anthropicKey; // Anthropic's SDKs send the key as x-api-key
        }

        if (header.Length == 0)
        {
            return AuthenticateResult.NoResult();
        }

        const string bearer = "Bearer ";
        var key = header.StartsWith(bearer, StringComparison.OrdinalIgnoreCase) ? header[bearer.Length..].Trim()
            : OpensInBrowser() ? BrowserKeyPrompt.KeyFrom(header) ?? string.Empty
            : string.Empty;
        var caller = key.Length == 0
            ? new GatewayError(401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided.")
            : await keys.AuthenticateAsync(key);
        if (caller.IsSuccess && !caller.Value.AllowsAddress(Context.Connection.RemoteIpAddress))
        {
            caller = new GatewayError(403, "invalid_request_error", "ip_not_allowed",
                $"This API key may not be used from {Context.Connection.RemoteIpAddress?.ToString() ?? "an unknown address"}: it is outside the key's or its tenant's allowed_ips.");
        }

        if (!caller.IsSuccess)
        {
            Context.Items[FailureKey] = caller.Error;
            return AuthenticateResult.Fail(caller.Error.Code ?? "invalid_api_key");
        }

        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new CallerIdentity(caller.Value)), SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        await HandleAuthenticateOnceSafeAsync();
        if (OpensInBrowser())
        {
            Response.Headers.WWWAuthenticate = BrowserKeyPrompt.Challenge;
        }

        var error = Context.Items[FailureKey] as GatewayError
            ?? new GatewayError(401, "invalid_request_error", null,
                "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).");
        await ApiErrors.WriteAsync(Context, error);
    }

    private bool OpensInBrowser() => Context.GetEndpoint()?.Metadata.GetMetadata<BrowserKeyPrompt>() is not null;

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ApiErrors.WriteAsync(Context, ApiErrors.Forbidden("This API key is not allowed to perform this request."));
}

/// <summary>The authenticated caller, carried by the request's principal.</summary>
public sealed class CallerIdentity(Caller caller)
    : ClaimsIdentity([new Claim(ClaimTypes.Role, caller.Role.ToString())], ApiKeyAuthenticationHandler.SchemeName)
{
    public Caller Caller { get; } = caller;
}

public static class CallerExtensions
{
    public static Caller Caller(this ClaimsPrincipal user) =>
        (user.Identity as CallerIdentity)?.Caller ?? throw new InvalidOperationException("The endpoint requires an authenticated caller.");

    /// <summary>The caller's tenant; every grain key the API builds starts with it.</summary>
    public static string Tenant(this ClaimsPrincipal user) => user.Caller().Tenant;
}
