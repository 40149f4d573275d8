using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Conversations.Tests.Api;

namespace Conversations.Tests.Tenancy;

/// <summary>Drives the admin API over HTTP: tenants and keys for a test.</summary>
public sealed class TenantClient(HttpClient admin)
{
    public static string NewTenantId() => "t-" + Guid.NewGuid().ToString("N")[..12];

    public async Task<string> CreateTenant(object? limits = null, object? userLimits = null, string? id = null)
    {
        id ??= NewTenantId();
        using var response = await admin.PostAsync("/v1/admin/tenants", ChatCompletionsTests.Json(JsonSerializer.Serialize(new { id, name = id, limits, user_limits = userLimits })));
        await EnsureOk(response);
        return id;
    }

    /// <summary>Creates a key and returns (key id, secret).</summary>
    public async Task<(string Id, string Secret)> CreateKey(string tenant, string role = "member", object? extra = null)
    {
        var body = JsonSerializer.SerializeToNode(extra ?? new { })!.AsObject();
        body["name"] = "test key";
        body["role"] = role;
        using var response = await admin.PostAsync($"/v1/admin/tenants/{tenant}/keys", ChatCompletionsTests.Json(body.ToJsonString()));
        var json = await EnsureOk(response);
        return (json.GetProperty("id").GetString()!, json.GetProperty("secret").GetString()!);
    }

    public async Task<JsonElement> Post(string path, string body = "{}")
    {
        using var response = await admin.PostAsync(path, ChatCompletionsTests.Json(body));
        return await EnsureOk(response);
    }

    public async Task<JsonElement> Get(string path) => await admin.GetFromJsonAsync<JsonElement>(path);

    private static async Task<JsonElement> EnsureOk(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement;
    }
}
