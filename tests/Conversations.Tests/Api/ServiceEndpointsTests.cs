using System.Net;
using System.Text.Json;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Api;

[Collection(GatewayCollection.Name)]
public sealed class ServiceEndpointsTests(GatewayFixture fixture)
{
    [Fact]
    public async Task Health_and_alive_answer_without_a_key()
    {
        using var http = fixture.Gateway.Http(apiKey: null);

        Assert.Equal("Healthy", await http.GetStringAsync("/health"));
        Assert.Equal("Healthy", await http.GetStringAsync("/alive"));
    }

    [Fact]
    public async Task A_tenants_route_list_shows_every_platform_route_of_the_embedded_default()
    {
        var admin = new Tenancy.TenantClient(fixture.Gateway.Http());
        var tenant = await admin.CreateTenant();

        var routes = await admin.Get($"/v1/admin/tenants/{tenant}/routes");

        var providers = routes.GetProperty("data").EnumerateArray()
            .SelectMany(route => route.GetProperty("config").GetProperty("deployments").EnumerateArray().Select(d => d.GetProperty("provider").GetString()));
        Assert.Contains("local_embeddings", providers);
    }

    [Fact]
    public async Task Models_lists_the_configured_models()
    {
        var models = fixture.Gateway.OpenAI().GetOpenAIModelClient();

        var list = (await models.GetModelsAsync()).Value;

        Assert.Contains(list, m => m.Id == "sim-small");
        Assert.Contains(list, m => m.Id == "sim-large");
    }

    [Fact]
    public async Task OpenApi_document_describes_the_public_api_and_the_reference_ui_is_served()
    {
        using var http = fixture.Gateway.Http(apiKey: null);

        var document = JsonDocument.Parse(await http.GetStringAsync("/openapi/v1.json")).RootElement;
        using var ui = await http.GetAsync("/scalar/v1");

        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Contains("/v1/chat/completions", paths);
        Assert.Contains("/v1/responses", paths);
        Assert.Contains("/v1/conversations/{conversationId}/items", paths);
        Assert.Equal(HttpStatusCode.OK, ui.StatusCode);
    }
}
