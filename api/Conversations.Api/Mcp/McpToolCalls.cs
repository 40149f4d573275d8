using System.Text.Json;
using Conversations.Api.Endpoints;
using Conversations.Api.Security;
using Conversations.Audit;
using Conversations.Tenancy;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace Conversations.Api.Mcp;

/// <summary>
/// Every tool call at <c>/mcp</c>, built-in or proxied, as a request of the caller's key: admitted against the key's,
/// the tenant's limits (requests per minute, concurrency; a refusal is a tool error the model can read), settled in
/// usage as the model <c>mcp:{tool}</c> with no tokens, and recorded in the tenant's audit log (action
/// <c>MCP tools/call</c>, the tool as target, never its arguments or answer).
/// </summary>
/// <remarks>
/// The audit record goes to the same log as administrative changes (<see cref="AuditTrail.Append"/>), the one audit
/// store there is; a per-call store would take its place in <see cref="Audit"/>.
/// </remarks>
public sealed class McpToolCalls(Caller caller, string? address, IGrainFactory grains, TimeProvider clock, ILoggerFactory logs)
{
    public const string AuditAction = "MCP tools/call";

    /// <summary>The name a tool call has in the usage report.</summary>
    public static string UsageModel(string tool) => "mcp:" + tool;

    public async ValueTask<CallToolResult> Run(string tool, Func<ValueTask<CallToolResult>> call)
    {
        var quota = grains.GetGrain<ITenantQuotaGrain>(caller.Tenant);
        var lease = Ids.Opaque();
        if (caller.NeedsAdmission(null) && await quota.Admit(new AdmissionRequest(lease, caller, null, 0, 0)) is { IsSuccess: false } refused)
        {
            await Audit(tool, refused.Error.Status, refused.Error.Code);
            throw new McpException(refused.Error.Message);
        }

        var status = StatusCodes.Failed;
        string? outcome = null;
        try
        {
            var result = await call();
            (status, outcome) = result.IsError is true ? (StatusCodes.ToolError, "tool_error") : (StatusCodes.Ok, null);
            return result;
        }
        catch (McpProtocolException)
        {
            (status, outcome) = (StatusCodes.Refused, "refused");
            throw;
        }
        catch (McpException)
        {
            (status, outcome) = (StatusCodes.ToolError, "tool_error");
            throw;
        }
        finally
        {
            await quota.Settle(lease, caller, null, UsageModel(tool), new TokenUsage(0, 0), 0);
            await Audit(tool, status, outcome ?? (status == StatusCodes.Ok ? null : "failed"));
        }
    }

    private Task Audit(string tool, int status, string? outcome) => AuditTrail.Append(grains, new AuditRecord(
        Ids.New("audit"), clock.GetUtcNow(), caller.Tenant, caller.KeyId, caller.Tenant, RoleNames.Name(caller.Role), address,
        AuditAction, tool, status, null, JsonSerializer.Serialize(new { tool, outcome }, ApiJson.Options)), logs);

    /// <summary>How a tool call's outcome is recorded, in HTTP's terms: answered, refused (unknown tool, bad arguments), answered with a tool error, failed; a refusal by limits keeps its own status.</summary>
    private static class StatusCodes
    {
        public const int Ok = 200;
        public const int Refused = 400;
        public const int ToolError = 422;
        public const int Failed = 502;
    }
}
