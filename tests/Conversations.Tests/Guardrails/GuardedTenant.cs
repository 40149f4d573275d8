using System.Text.Json;
using Conversations.Tests.Infrastructure;
using Conversations.Tests.Tenancy;

namespace Conversations.Tests.Guardrails;

/// <summary>A new tenant with a guardrail policy, set through the admin API as a tenant's security team would.</summary>
public static class GuardedTenant
{
    /// <summary>The secret of a member key of a new tenant whose guardrails are <paramref name="guardrails"/>.</summary>
    public static async Task<string> MemberOf(GatewayFactory gateway, object guardrails) => (await Create(gateway, guardrails)).Secret;

    /// <summary>A new tenant whose guardrails are <paramref name="guardrails"/>, and the secret of a member key of it.</summary>
    public static async Task<(string Tenant, string Secret)> Create(GatewayFactory gateway, object guardrails)
    {
        var tenants = new TenantClient(gateway.Http());
        var tenant = await tenants.CreateTenant();
        await tenants.Post($"/v1/admin/tenants/{tenant}", JsonSerializer.Serialize(new { guardrails }));
        return (tenant, (await tenants.CreateKey(tenant)).Secret);
    }
}
