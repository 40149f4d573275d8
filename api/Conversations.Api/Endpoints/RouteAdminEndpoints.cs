using System.Text.RegularExpressions;
using Conversations.Api.Errors;
using Conversations.Api.Security;
using Conversations.Routing;
using Conversations.Tenancy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Conversations.Api.Endpoints;

/// <summary>
/// The admin API for a tenant's model routes: list, read (with live deployment health), change
/// (each change is a new version), list versions, roll back, and return to the platform default.
/// </summary>
public static partial class RouteAdminEndpoints
{
    public static RouteGroupBuilder MapRouteAdmin(this RouteGroupBuilder v1)
    {
        var routes = v1.MapGroup("/admin/tenants/{tenantId}/routes").WithTags("Admin").RequireScope(EndpointGroups.Admin).AddEndpointFilter(AuditTrail.Filter);
        routes.MapGet("/", List).WithSummary("List the tenant's routes: the platform's and its own, with live health.")
            .Produces<ListJson<RouteJson>>().Produces<OpenAIErrorBody>(404);
        routes.MapGet("/{alias}", Get).WithSummary("Read a route: its current version and the live health of its deployments.")
            .Produces<RouteJson>().Produces<OpenAIErrorBody>(404);
        routes.MapPut("/{alias}", Put).WithSummary("Set the tenant's route for an alias; every change is a new version.")
            .Accepts<RouteConfigJson>("application/json").Produces<RouteJson>().Produces<OpenAIErrorBody>(400).Produces<OpenAIErrorBody>(404);
        routes.MapDelete("/{alias}", Reset).WithSummary("Return the alias to the platform default (a new version).")
            .Produces<RouteJson>().Produces<OpenAIErrorBody>(404);
        routes.MapGet("/{alias}/versions", Versions).WithSummary("List a route's versions, oldest first.")
            .Produces<ListJson<RouteVersionJson>>().Produces<OpenAIErrorBody>(404);
        routes.MapPost("/{alias}/rollback", Rollback).WithSummary("Make an earlier version current again (as a new version).")
            .Accepts<RollbackJson>("application/json").Produces<RouteJson>().Produces<OpenAIErrorBody>(404);
        return v1;
    }

    private static async Task<IResult> List(string tenantId, [AsParameters] ApiServices api)
    {
        if (await Access(tenantId, api) is { } denied)
        {
            return denied.ToResult();
        }

        var models = await api.Grains.GetGrain<ITenantRoutesGrain>(tenantId).ListModels();
        var visible = models.Where(m => api.Caller.Scope.RefusesRoute(m.Id) is null);
        var views = await Task.WhenAll(visible.Select(m => Route(tenantId, m.Id, api).Describe()));
        var data = views.Where(v => v.IsSuccess).Select(v => RouteJson.From(tenantId, v.Value!)).ToList();
        return TypedResults.Json(new ListJson<RouteJson>(data, data.FirstOrDefault()?.Id, data.LastOrDefault()?.Id, false), ApiJson.Options);
    }

    private static async Task<IResult> Get(string tenantId, string alias, [AsParameters] ApiServices api) =>
        await Access(tenantId, api, alias) is { } denied ? denied.ToResult() : Answer(tenantId, await Route(tenantId, alias, api).Describe());

    private static async Task<IResult> Put(string tenantId, string alias, [AsParameters] ApiServices api)
    {
        if (await Access(tenantId, api, alias) is { } denied)
        {
            return denied.ToResult();
        }

        var body = await RequestBody.ReadAsync<RouteConfigJson>(api.Http.Request);
        if (!body.IsSuccess)
        {
            return body.Error.ToResult();
        }

        var config = body.Value.ToConfig();
        return config.IsSuccess
            ? Answer(tenantId, await Route(tenantId, alias, api).Change(config.Value, Author(api)))
            : config.Error.ToResult();
    }

    private static async Task<IResult> Reset(string tenantId, string alias, [AsParameters] ApiServices api) =>
        await Access(tenantId, api, alias) is { } denied ? denied.ToResult() : Answer(tenantId, await Route(tenantId, alias, api).Change(null, Author(api)));

    private static async Task<IResult> Versions(string tenantId, string alias, [AsParameters] ApiServices api)
    {
        if (await Access(tenantId, api, alias) is { } denied)
        {
            return denied.ToResult();
        }

        var view = await Route(tenantId, alias, api).Describe();
        if (!view.IsSuccess)
        {
            return view.Error.ToResult();
        }

        var data = view.Value.Versions.Select(RouteVersionJson.From).ToList();
        return TypedResults.Json(
            new ListJson<RouteVersionJson>(data, data.FirstOrDefault()?.Version.ToString(System.Globalization.CultureInfo.InvariantCulture),
                data.LastOrDefault()?.Version.ToString(System.Globalization.CultureInfo.InvariantCulture), false),
            ApiJson.Options);
    }

    private static async Task<IResult> Rollback(string tenantId, string alias, [AsParameters] ApiServices api)
    {
        if (await Access(tenantId, api, alias) is { } denied)
        {
            return denied.ToResult();
        }

        var body = await RequestBody.ReadAsync<RollbackJson>(api.Http.Request);
        if (!body.IsSuccess)
        {
            return body.Error.ToResult();
        }

        return body.Value.Version is not { } version || version < 0
            ? GatewayError.Invalid("'version' must be a version number (0 is the platform default).", "version", "invalid_value").ToResult()
            : Answer(tenantId, await Route(tenantId, alias, api).Rollback(version, Author(api)));
    }

    /// <summary>
    /// Tenant admins manage their own tenant's routes, platform admins any existing tenant's (or their own bootstrap tenant's);
    /// either only for models its key may use.
    /// </summary>
    private static async Task<GatewayError?> Access(string tenantId, ApiServices api, string? alias = null)
    {
        if (Check(api.Caller, tenantId, alias) is { } refused)
        {
            return refused;
        }

        if (tenantId == api.Caller.Tenant)
        {
            return null;
        }

        var tenant = await api.Grains.GetGrain<ITenantGrain>(tenantId).Get();
        return tenant.IsSuccess ? null : tenant.Error;
    }

    /// <summary>The checks that need no grain: a tenant admin of the tenant (or a platform admin), a valid alias the key may see.</summary>
    public static GatewayError? Check(Caller caller, string tenantId, string? alias = null)
    {
        if (AdminAccess.Check(caller, tenantId, Role.TenantAdmin) is { } denied)
        {
            return denied;
        }

        if (alias is not null && !AliasPattern().IsMatch(alias))
        {
            return GatewayError.Invalid("Invalid route alias: use 1 to 128 letters, digits, '.', '_', ':' or '-'.", "alias", "invalid_value");
        }

        // A key scoped to some models sees and manages only their routes: the others are absent to it, as in /v1/models.
        return alias is null ? null : caller.Scope.RefusesRoute(alias);
    }

    /// <summary>The author a route version records for a change by <paramref name="caller"/>.</summary>
    public static string Author(Caller caller) => $"{RoleNames.Name(caller.Role)}:{caller.KeyId}";

    private static IModelRouteGrain Route(string tenantId, string alias, ApiServices api) =>
        api.Grains.GetGrain<IModelRouteGrain>(GrainKeys.For(tenantId, alias));

    private static IResult Answer(string tenantId, Result<RouteView> view) =>
        view.IsSuccess ? TypedResults.Json(RouteJson.From(tenantId, view.Value), ApiJson.Options) : view.Error.ToResult();

    private static string Author(ApiServices api) => Author(api.Caller);

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,128}$", RegexOptions.CultureInvariant)]
    private static partial Regex AliasPattern();
}
