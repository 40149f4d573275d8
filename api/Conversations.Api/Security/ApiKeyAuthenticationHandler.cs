using System.Security.Claims;
using System.Text.Encodings.Web;
using Conversations.Api.Errors;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Conversations.Api.Security;

/// <summary>Authenticates <c>Authorization: Bearer &lt;key&gt;</c> and answers failures in OpenAI's error shape.</summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyStore keys) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string TenantClaim = "tenant";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (header.Length == 0)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        const string bearer = "Bearer ";
        var key = header.StartsWith(bearer, StringComparison.OrdinalIgnoreCase) ? header[bearer.Length..].Trim() : string.Empty;
        if (key.Length == 0 || keys.FindTenant(key) is not { } tenant)
        {
            return Task.FromResult(AuthenticateResult.Fail("invalid_api_key"));
        }

        var identity = new ClaimsIdentity([new Claim(TenantClaim, tenant)], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        var error = result.Failure is null
            ? new GatewayError(401, "invalid_request_error", null,
                "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
            : new GatewayError(401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided.");
        await ApiErrors.WriteAsync(Context, error);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ApiErrors.WriteAsync(Context, new GatewayError(403, "invalid_request_error", "forbidden", "This API key is not allowed to perform this request."));
}

public static class CallerExtensions
{
    /// <summary>The tenant of the authenticated key. Every grain key the API builds starts with it.</summary>
    public static string Tenant(this ClaimsPrincipal user) =>
        user.FindFirst(ApiKeyAuthenticationHandler.TenantClaim)?.Value
        ?? throw new InvalidOperationException("The endpoint requires an authenticated caller.");
}
