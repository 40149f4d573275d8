using Conversations.Api.Errors;
using Conversations.Api.Security;
using Conversations.Mcp;
using Conversations.Tenancy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Conversations.Api.Endpoints;

/// <summary>
/// A tenant's upstream MCP servers (tenant admins, platform admins): registered, listed and removed; the gateway's
/// <c>/mcp</c> offers their tools as <c>{label}__{tool}</c>. Credentials are named, never sent: their keys are configured
/// on the silos.
/// </summary>
public static class McpServerEndpoints
{
    public const int MaxUrlLength = 2048;

    public static RouteGroupBuilder MapMcpServers(this RouteGroupBuilder v1)
    {
        var servers = v1.MapGroup("/admin/tenants/{tenantId}/mcp_servers").WithTags("Admin").RequireScope(EndpointGroups.Admin).AddEndpointFilter(AuditTrail.Filter);
        servers.MapPost("/", Register).WithSummary("Register an upstream MCP server (Streamable HTTP) under a label.")
            .Accepts<McpServerCreateJson>("application/json").Produces<McpServerJson>().Produces<OpenAIErrorBody>(400).Produces<OpenAIErrorBody>(409);
        servers.MapGet("/", List).WithSummary("List the tenant's upstream MCP servers.").Produces<ListJson<McpServerJson>>();
        servers.MapGet("/{label}", Get).WithSummary("Read an upstream MCP server's registration.").Produces<McpServerJson>().Produces<OpenAIErrorBody>(404);
        servers.MapDelete("/{label}", Remove).WithSummary("Remove an upstream MCP server: its tools leave /mcp at once.")
            .Produces<McpServerJson>().Produces<OpenAIErrorBody>(404);
        return v1;
    }

    private static async Task<IResult> Register(string tenantId, [AsParameters] ApiServices api)
    {
        if (AdminAccess.Check(api.Caller, tenantId, Role.TenantAdmin) is { } denied)
        {
            return denied.ToResult();
        }

        var body = await RequestBody.ReadAsync<McpServerCreateJson>(api.Http.Request);
        if (!body.IsSuccess)
        {
            return body.Error.ToResult();
        }

        var json = body.Value;
        if (!McpServerRegistration.IsValidLabel(json.Label))
        {
            return GatewayError.Invalid("Invalid 'label': 1 to 32 lowercase letters, digits, '-' and '_' (never two in a row), starting with a letter.", "label", "invalid_value").ToResult();
        }

        if (json.Url is not { Length: <= MaxUrlLength } || !Uri.TryCreate(json.Url, UriKind.Absolute, out var url)
            || url.Scheme is not ("https" or "http") || url.UserInfo.Length > 0 || url.Fragment.Length > 0)
        {
            return GatewayError.Invalid($"Invalid 'url': an absolute http or https URL of at most {MaxUrlLength} characters, without user info or fragment.", "url", "invalid_value").ToResult();
        }

        if (json.Credential is { Length: 0 or > 128 } || json.Description is { Length: > 1024 })
        {
            return GatewayError.Invalid("Invalid 'credential' or 'description': a credential's name is 1 to 128 characters, a description at most 1024.",
                json.Credential is { Length: 0 or > 128 } ? "credential" : "description", "invalid_value").ToResult();
        }

        var registered = await Grain(tenantId, api).Register(new McpServerRegistration(json.Label!, url, json.Credential, json.Description, api.Clock.GetUtcNow()));
        return registered.IsSuccess ? TypedResults.Json(McpServerJson.From(registered.Value), ApiJson.Options) : registered.Error.ToResult();
    }

    private static async Task<IResult> List(string tenantId, [AsParameters] ApiServices api)
    {
        if (AdminAccess.Check(api.Caller, tenantId, Role.TenantAdmin) is { } denied)
        {
            return denied.ToResult();
        }

        var data = (await Grain(tenantId, api).List()).Select(McpServerJson.From).ToList();
        return TypedResults.Json(new ListJson<McpServerJson>(data, data.FirstOrDefault()?.Label, data.LastOrDefault()?.Label, false), ApiJson.Options);
    }

    private static async Task<IResult> Get(string tenantId, string label, [AsParameters] ApiServices api)
    {
        if (AdminAccess.Check(api.Caller, tenantId, Role.TenantAdmin) is { } denied)
        {
            return denied.ToResult();
        }

        var server = await Grain(tenantId, api).Get(label);
        return server.IsSuccess ? TypedResults.Json(McpServerJson.From(server.Value), ApiJson.Options) : server.Error.ToResult();
    }

    private static async Task<IResult> Remove(string tenantId, string label, [AsParameters] ApiServices api)
    {
        if (AdminAccess.Check(api.Caller, tenantId, Role.TenantAdmin) is { } denied)
        {
            return denied.ToResult();
        }

        var removed = await Grain(tenantId, api).Remove(label);
        return removed.IsSuccess ? TypedResults.Json(McpServerJson.From(removed.Value), ApiJson.Options) : removed.Error.ToResult();
    }

    private static IMcpServersGrain Grain(string tenantId, ApiServices api) => api.Grains.GetGrain<IMcpServersGrain>(tenantId);
}
