using System.Security.Claims;
using Conversations.Api.Security;
using Conversations.Tenancy;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Conversations.Portal.Security;

/// <summary>
/// The portal's session: an API key exchanged at sign-in for a short-lived, HttpOnly, SameSite=Strict cookie that holds
/// (encrypted by ASP.NET Core data protection) only the hash of the key's secret. Every request authenticates that hash
/// through the API's own <see cref="ApiKeyAuthenticator"/>, so the page acts as the key would: a revoked, expired or
/// rotated-out key, a disabled tenant or a refused address ends the session at once.
/// </summary>
public static class PortalAuthentication
{
    public const string Scheme = "PortalSession";
    public const string CookieName = "conversations_portal";
    public const string SignInPath = "/portal/sign-in";

    /// <summary>Pages any signed-in key may open (a member's).</summary>
    public const string MemberPolicy = "portal-member";

    /// <summary>Pages of a tenant admin (or platform admin): keys and usage.</summary>
    public const string AdminPolicy = "portal-admin";

    /// <summary>How long a session lasts, from sign-in; it is not extended by use.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(30);

    private const string KeyHashClaim = "conversations:key_hash";

    public static IServiceCollection AddPortalAuthentication(this IServiceCollection services)
    {
        services.AddAuthentication()
            .AddCookie(Scheme, options =>
            {
                options.Cookie.Name = CookieName;
                options.Cookie.Path = "/portal";
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Strict;
                options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                options.ExpireTimeSpan = Lifetime;
                options.SlidingExpiration = false;
                options.LoginPath = SignInPath;
                options.LogoutPath = "/portal/sign-out";
                options.AccessDeniedPath = "/portal/denied";
                options.Events.OnValidatePrincipal = Validate;
            });
        services.AddAuthorizationBuilder()
            .AddPolicy(MemberPolicy, policy => policy.AddAuthenticationSchemes(Scheme).RequireAuthenticatedUser())
            .AddPolicy(AdminPolicy, policy => policy.AddAuthenticationSchemes(Scheme).RequireAuthenticatedUser()
                .RequireRole(nameof(Role.TenantAdmin), nameof(Role.PlatformAdmin)));
        return services;
    }

    /// <summary>The cookie's principal for a key that has just authenticated: the secret's hash and who it is, nothing else.</summary>
    public static ClaimsPrincipal Session(string presentedKey, Caller caller) => new(new ClaimsIdentity(
        [new Claim(KeyHashClaim, KeySecrets.Hash(presentedKey)), new Claim(ClaimTypes.NameIdentifier, caller.Tenant + "/" + caller.KeyId)], Scheme));

    /// <summary>Re-authenticates the session's key on every request and puts the API's caller on the request, as the API would.</summary>
    private static async Task Validate(CookieValidatePrincipalContext context)
    {
        var session = context.Principal?.Identities.FirstOrDefault(i => i.HasClaim(c => c.Type == KeyHashClaim));
        var hash = session?.FindFirst(KeyHashClaim)?.Value;
        var keys = context.HttpContext.RequestServices.GetRequiredService<ApiKeyAuthenticator>();
        var caller = hash is null ? null : await keys.AuthenticateHashAsync(hash) is { IsSuccess: true } found ? found.Value : null;
        if (caller is null || !caller.AllowsAddress(context.HttpContext.Connection.RemoteIpAddress))
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(Scheme);
            return;
        }

        // The caller identity first: the API's Caller() reads the principal's first identity; the session's own claims
        // (the key's id) stay beside it, which binds antiforgery tokens to this key.
        context.ReplacePrincipal(new ClaimsPrincipal([new CallerIdentity(caller), new ClaimsIdentity(session!.Claims, Scheme)]));
    }
}
