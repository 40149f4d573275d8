using System.Text.RegularExpressions;
using Conversations.Api.Errors;
using Conversations.Api.Security;
using Conversations.Prompts;
using Conversations.Tenancy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Conversations.Api.Endpoints;

/// <summary>
/// The admin API for a tenant's prompt library (decision 0062): create a prompt, add versions (each immutable), read it,
/// and point labels at versions (a rollback is a label moved back). Responses render it with <c>prompt</c>.
/// </summary>
public static partial class PromptAdminEndpoints
{
    private const int MaxVariables = 64;
    private const int MaxInputMessages = 32;

    private static readonly string[] Roles = [Conversations.Roles.System, "developer", Conversations.Roles.User, Conversations.Roles.Assistant];

    public static RouteGroupBuilder MapPromptAdmin(this RouteGroupBuilder v1)
    {
        var prompts = v1.MapGroup("/admin/tenants/{tenantId}/prompts").WithTags("Admin").RequireScope(EndpointGroups.Admin).AddEndpointFilter(AuditTrail.Filter);
        prompts.MapPost("/", Create).WithSummary("Create a prompt template (its version 1).")
            .Accepts<PromptVersionJson>("application/json").Produces<PromptJson>().Produces<OpenAIErrorBody>(400).Produces<OpenAIErrorBody>(404);
        prompts.MapGet("/{promptId}", Get).WithSummary("Read a prompt: its versions and labels.")
            .Produces<PromptJson>().Produces<OpenAIErrorBody>(404);
        prompts.MapPost("/{promptId}/versions", AddVersion).WithSummary("Add a version to a prompt; earlier versions never change.")
            .Accepts<PromptVersionJson>("application/json").Produces<PromptJson>().Produces<OpenAIErrorBody>(400).Produces<OpenAIErrorBody>(404);
        prompts.MapPut("/{promptId}/labels/{label}", SetLabel).WithSummary("Point a label (production, staging, any name) at a version.")
            .Accepts<PromptLabelJson>("application/json").Produces<PromptJson>().Produces<OpenAIErrorBody>(400).Produces<OpenAIErrorBody>(404);
        return v1;
    }

    private static Task<IResult> Create(string tenantId, [AsParameters] ApiServices api) => Write(tenantId, Ids.New(Ids.Prompt), api, create: true);

    private static Task<IResult> AddVersion(string tenantId, string promptId, [AsParameters] ApiServices api) => Write(tenantId, promptId, api, create: false);

    private static async Task<IResult> Get(string tenantId, string promptId, [AsParameters] ApiServices api)
    {
        if (AdminAccess.Check(api.Caller, tenantId, Role.TenantAdmin) is { } denied)
        {
            return denied.ToResult();
        }

        return Answer(Ids.IsValid(promptId, Ids.Prompt) ? await Prompt(tenantId, promptId, api).Get() : GatewayError.NotFound("prompt", promptId));
    }

    private static async Task<IResult> SetLabel(string tenantId, string promptId, string label, [AsParameters] ApiServices api)
    {
        if (AdminAccess.Check(api.Caller, tenantId, Role.TenantAdmin) is { } denied)
        {
            return denied.ToResult();
        }

        var body = await RequestBody.ReadAsync<PromptLabelJson>(api.Http.Request);
        if (!body.IsSuccess)
        {
            return body.Error.ToResult();
        }

        if (!Name().IsMatch(label) || int.TryParse(label, out _))
        {
            return GatewayError.Invalid("Invalid label: letters, digits, '-' and '_', up to 64, not a number.", "label", "invalid_value").ToResult();
        }

        if (body.Value.Version is not { } version)
        {
            return GatewayError.Invalid("Missing required parameter: 'version'.", "version", "missing_required_parameter").ToResult();
        }

        return Answer(Ids.IsValid(promptId, Ids.Prompt) ? await Prompt(tenantId, promptId, api).SetLabel(label, version) : GatewayError.NotFound("prompt", promptId));
    }

    private static async Task<IResult> Write(string tenantId, string promptId, ApiServices api, bool create)
    {
        if (AdminAccess.Check(api.Caller, tenantId, Role.TenantAdmin) is { } denied)
        {
            return denied.ToResult();
        }

        var body = await RequestBody.ReadAsync<PromptVersionJson>(api.Http.Request);
        if (!body.IsSuccess)
        {
            return body.Error.ToResult();
        }

        var version = Read(body.Value, api.Clock.GetUtcNow());
        if (!version.IsSuccess)
        {
            return version.Error.ToResult();
        }

        if (!create && !Ids.IsValid(promptId, Ids.Prompt))
        {
            return GatewayError.NotFound("prompt", promptId).ToResult();
        }

        var prompt = Prompt(tenantId, promptId, api);
        if (!create && !(await prompt.Get()).IsSuccess)
        {
            return GatewayError.NotFound("prompt", promptId).ToResult();
        }

        return Answer(await prompt.AddVersion(version.Value));
    }

    private static Result<PromptVersion> Read(PromptVersionJson body, DateTimeOffset now)
    {
        var input = body.Input ?? [];
        if (body.Instructions is null && input.Count == 0)
        {
            return GatewayError.Invalid("A prompt needs 'instructions', 'input' or both.", "instructions", "missing_required_parameter");
        }

        if (input.Count > MaxInputMessages)
        {
            return GatewayError.Invalid($"Invalid 'input': at most {MaxInputMessages} messages.", "input", "array_above_max_length");
        }

        for (var index = 0; index < input.Count; index++)
        {
            if (input[index].Role is not { } role || !Roles.Contains(role))
            {
                return GatewayError.Invalid($"Invalid 'input[{index}].role': expected one of {string.Join(", ", Roles)}.", $"input[{index}].role", "invalid_value");
            }

            if (input[index].Content is null)
            {
                return GatewayError.Invalid($"Missing required parameter: 'input[{index}].content'.", $"input[{index}].content", "missing_required_parameter");
            }
        }

        var variables = body.Variables ?? [];
        if (variables.Count > MaxVariables)
        {
            return GatewayError.Invalid($"Invalid 'variables': at most {MaxVariables}.", "variables", "object_above_max_properties");
        }

        foreach (var (name, type) in variables)
        {
            if (!Name().IsMatch(name) || name.Contains('-', StringComparison.Ordinal))
            {
                return GatewayError.Invalid($"Invalid variable name '{name}': letters, digits and '_'.", $"variables.{name}", "invalid_value");
            }

            if (!PromptAdminTypes.IsValid(type))
            {
                return GatewayError.Invalid(
                    $"Invalid 'variables.{name}': expected '{PromptAdminTypes.Text}', '{PromptAdminTypes.Image}' or '{PromptAdminTypes.File}'.", $"variables.{name}", "invalid_value");
            }
        }

        var media = variables.Where(v => v.Value != PromptAdminTypes.Text).ToDictionary(StringComparer.Ordinal);
        return new PromptVersion(
            0, body.Instructions, [.. input.Select(m => new PromptMessage(m.Role!, m.Content!))], [.. variables.Keys], body.Model, now, media.Count > 0 ? media : null);
    }

    private static IResult Answer(Result<PromptView> view) =>
        view.IsSuccess ? TypedResults.Json(PromptJson.From(view.Value), ApiJson.Options) : view.Error.ToResult();

    private static IPromptGrain Prompt(string tenantId, string promptId, ApiServices api) => api.Grains.GetGrain<IPromptGrain>(GrainKeys.For(tenantId, promptId));

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_-]{0,63}$")]
    private static partial Regex Name();
}
