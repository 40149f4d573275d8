using System.Net;
using Conversations.Tests.Api;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Tenancy;

/// <summary>
/// Two API processes with their own key caches: the embedded service, and the API host as a separate
/// Orleans client connected to it. A key revoked through one is refused by the other on its next request.
/// </summary>
public sealed class ClusterWideRevocationTests
{
    [Fact]
    public async Task A_key_revoked_through_one_api_process_is_refused_by_another_at_once()
    {
        await using var first = new GatewayFactory();
        var apiHost = Repository.ProjectOutput("api/Conversations.ApiHost", "Conversations.ApiHost");
        await using var second = await ServiceProcess.StartAsync(apiHost, new Dictionary<string, string>
        {
            ["Conversations__Cluster__GatewayPort"] = first.Setting("Conversations:Cluster:GatewayPort"),
            ["Conversations__Cluster__ClusterId"] = first.Setting("Conversations:Cluster:ClusterId"),
            ["CONVERSATIONS_API_KEY"] = GatewayFactory.ApiKey,
        });
        var admin = new TenantClient(first.Http());
        var tenant = await admin.CreateTenant();
        var (keyId, secret) = await admin.CreateKey(tenant);
        using var viaSecond = new HttpClient { BaseAddress = second.BaseAddress };
        viaSecond.DefaultRequestHeaders.Authorization = new("Bearer", secret);
        using (var cached = await Chat(viaSecond))
        {
            Assert.Equal(HttpStatusCode.OK, cached.StatusCode); // the second process now caches the key
        }

        await admin.Post($"/v1/admin/tenants/{tenant}/keys/{keyId}/revoke");

        using var refused = await Chat(viaSecond);
        var error = await refused.AssertOpenAIError(HttpStatusCode.Unauthorized);
        Assert.Equal("key_revoked", error.GetProperty("code").GetString());
    }

    private static Task<HttpResponseMessage> Chat(HttpClient http) =>
        http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json("""{"model":"sim-small","messages":[{"role":"user","content":"hi"}]}"""));
}
