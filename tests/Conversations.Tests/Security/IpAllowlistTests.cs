using System.Net;
using System.Text.Json;
using Conversations.Tests.Api;
using Conversations.Tests.Infrastructure;
using Conversations.Tests.Tenancy;

namespace Conversations.Tests.Security;

/// <summary>
/// Address allowlists on keys and tenants (CIDR ranges, IPv4 and IPv6), checked at authentication over real HTTP from
/// loopback; <c>X-Forwarded-For</c> is believed only from a configured trusted proxy.
/// </summary>
public sealed class IpAllowlistTests : IAsyncLifetime
{
    private const string Loopback = """["127.0.0.0/8","::1"]""";

    private GatewayFactory _direct = null!;
    private GatewayFactory _behindProxy = null!;

    public ValueTask InitializeAsync()
    {
        _direct = new GatewayFactory();
        _behindProxy = new GatewayFactory(new Dictionary<string, string?>
        {
            ["Conversations:Network:TrustedProxies:0"] = "127.0.0.1",
            ["Conversations:Network:TrustedProxies:1"] = "::1/128",
        });
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task A_key_works_only_from_its_ranges_and_its_tenants()
    {
        var admin = new TenantClient(_direct.Http());
        var tenant = await admin.CreateTenant();
        var (elsewhere, elsewhereSecret) = await admin.CreateKey(tenant, extra: JsonSerializer.Deserialize<JsonElement>("""{"allowed_ips":["10.0.0.0/8","2001:db8::/32"]}"""));
        var (_, localSecret) = await admin.CreateKey(tenant, extra: JsonSerializer.Deserialize<JsonElement>($$"""{"allowed_ips":{{Loopback}}}"""));

        var refused = await Models(_direct, elsewhereSecret);
        var local = await Models(_direct, localSecret);
        var shown = await admin.Post($"/v1/admin/tenants/{tenant}/keys/{elsewhere}", """{"allowed_ips":[]}""");
        var lifted = await Models(_direct, elsewhereSecret);
        await admin.Post($"/v1/admin/tenants/{tenant}", """{"allowed_ips":["192.0.2.0/24"]}""");
        var tenantRefused = await Models(_direct, localSecret);

        Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
        Assert.Equal("ip_not_allowed", refused.Body.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.OK, local.Status);
        Assert.False(shown.TryGetProperty("allowed_ips", out _)); // removed
        Assert.Equal(HttpStatusCode.OK, lifted.Status);
        Assert.Equal(HttpStatusCode.Forbidden, tenantRefused.Status); // within the key's ranges, outside its tenant's
        Assert.Equal(["192.0.2.0/24"], (await admin.Get($"/v1/admin/tenants/{tenant}")).GetProperty("allowed_ips").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Forwarded_for_is_believed_only_from_a_trusted_proxy()
    {
        const string Ranges = """{"allowed_ips":["203.0.113.0/24"]}""";
        var (_, direct) = await new TenantClient(_direct.Http()).CreateKey(await new TenantClient(_direct.Http()).CreateTenant(), extra: JsonSerializer.Deserialize<JsonElement>(Ranges));
        var proxied = new TenantClient(_behindProxy.Http());
        var (_, behind) = await proxied.CreateKey(await proxied.CreateTenant(), extra: JsonSerializer.Deserialize<JsonElement>(Ranges));

        var spoofed = await Models(_direct, direct, "203.0.113.9");
        var forwarded = await Models(_behindProxy, behind, "203.0.113.9");
        var forwardedOutside = await Models(_behindProxy, behind, "198.51.100.1");
        var chainedThroughUntrusted = await Models(_behindProxy, behind, "203.0.113.9, 198.51.100.1");

        Assert.Equal(HttpStatusCode.Forbidden, spoofed.Status); // no trusted proxy: the header is ignored
        Assert.Equal(HttpStatusCode.OK, forwarded.Status);
        Assert.Equal(HttpStatusCode.Forbidden, forwardedOutside.Status);
        Assert.Equal(HttpStatusCode.Forbidden, chainedThroughUntrusted.Status); // the hop before the proxy is the caller
    }

    [Theory]
    [InlineData("""{"name":"k","allowed_ips":["10.0.0.0/8","10.0.0.0/33"]}""", "allowed_ips[1]")]
    [InlineData("""{"name":"k","allowed_ips":["not-an-address"]}""", "allowed_ips[0]")]
    public async Task A_bad_range_is_refused_naming_it(string body, string param)
    {
        var admin = new TenantClient(_direct.Http());
        var tenant = await admin.CreateTenant();

        using var response = await _direct.Http().PostAsync($"/v1/admin/tenants/{tenant}/keys", ChatCompletionsTests.Json(body));

        await response.AssertOpenAIError(HttpStatusCode.BadRequest, param);
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> Models(GatewayFactory gateway, string secret, string? forwardedFor = null)
    {
        using var http = gateway.Http(secret);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        if (forwardedFor is not null)
        {
            request.Headers.Add("X-Forwarded-For", forwardedFor);
        }

        using var response = await http.SendAsync(request);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement);
    }

    public async ValueTask DisposeAsync()
    {
        await _direct.DisposeAsync();
        await _behindProxy.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}
