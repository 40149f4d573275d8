using System.ClientModel;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;

namespace Conversations.Tests.Infrastructure;

/// <summary>
/// The real service (silo and API in one process, as in the embedded default) on Kestrel at a free
/// loopback port, so tests speak real HTTP to it. Storage is in memory unless settings say otherwise.
/// </summary>
public sealed class GatewayFactory : WebApplicationFactory<Program>
{
    public const string ApiKey = "sk-test-default-tenant";
    public const string OtherTenantKey = "sk-test-other-tenant";

    private readonly Dictionary<string, string?> _settings;
    private readonly Action<IServiceCollection>? _services;

    /// <param name="services">Extra service registrations, e.g. a logger provider that captures log lines.</param>
    public GatewayFactory(IReadOnlyDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        _services = services;
        _settings = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["Conversations:Cluster:Storage"] = "Memory",
            ["Conversations:Cluster:SiloPort"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Conversations:Cluster:GatewayPort"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Conversations:Cluster:ClusterId"] = "test-" + Guid.NewGuid().ToString("N"),
            ["Conversations:Auth:Keys:0:Key"] = ApiKey,
            ["Conversations:Auth:Keys:0:Tenant"] = "default",
            ["Conversations:Auth:Keys:1:Key"] = OtherTenantKey,
            ["Conversations:Auth:Keys:1:Tenant"] = "other",
            ["Conversations:Auth:Keys:1:Role"] = "TenantAdmin",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }

        UseKestrel(0);
        StartServer();
        BaseAddress = CreateClient().BaseAddress!;
    }

    public Uri BaseAddress { get; }

    public string Setting(string key) => _settings[key] ?? throw new KeyNotFoundException(key);

    public OpenAIClient OpenAI(string apiKey = ApiKey) =>
        new(new ApiKeyCredential(apiKey), new OpenAIClientOptions { Endpoint = new Uri(BaseAddress, "/v1") });

    public HttpClient Http(string? apiKey = ApiKey)
    {
        var client = CreateClient();
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new("Bearer", apiKey);
        }

        return client;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        if (_services is not null)
        {
            builder.ConfigureServices(_services);
        }

        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
    }
}
