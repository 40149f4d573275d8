using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Conversations.Api.Streaming;
using Conversations.Tests.Api;
using Conversations.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static Conversations.Tests.Routing.RoutingFixture;

namespace Conversations.Tests.Routing;

/// <summary>Routes managed through the admin API: versions and rollback, validation, and credentials that never leak.</summary>
public sealed class RouteAdminTests : IAsyncLifetime
{
    private const string LeakyKey = "sk-provider-never-shown-4242";

    private readonly CapturedLogs _logs = new();
    private UpstreamServer _first = null!;
    private UpstreamServer _second = null!;
    private GatewayFactory _gateway = null!;

    public async ValueTask InitializeAsync()
    {
        _first = await UpstreamServer.StartAsync();
        _second = await UpstreamServer.StartAsync();
        var settings = _first.CredentialSettings("first");
        foreach (var (key, value) in _second.CredentialSettings("second"))
        {
            settings[key] = value;
        }

        // A credential the upstream refuses: the gateway sends it, logs the failure, and must never show it.
        settings["Conversations:Credentials:refused:ApiKey"] = LeakyKey;
        settings["Conversations:Credentials:refused:BaseUrl"] = _first.BaseUrl.ToString();
        settings["Conversations:Credentials:refused:Tenants:0"] = "default";
        settings["Conversations:Credentials:refused:Models:sim-upstream:InputPerMillion"] = "1";
        settings["Conversations:Credentials:private:ApiKey"] = LeakyKey;
        settings["Conversations:Credentials:private:BaseUrl"] = _first.BaseUrl.ToString();
        settings["Conversations:Credentials:private:Models:sim-upstream:InputPerMillion"] = "1";
        _gateway = new GatewayFactory(settings, services => services.AddSingleton<ILoggerProvider>(_logs));
    }

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _first.DisposeAsync();
        await _second.DisposeAsync();
    }

    [Fact]
    public async Task Rolling_back_a_route_restores_the_earlier_deployment_choice()
    {
        using var http = _gateway.Http();

        await Put(http, "rollback", """{"deployments":[{"name":"one","credential":"first","upstream_model":"sim-upstream"}]}""");
        var v1 = await Served(http, "rollback");
        await Put(http, "rollback", """{"deployments":[{"name":"two","credential":"second","upstream_model":"sim-upstream"}]}""");
        var v2 = await Served(http, "rollback");
        using var rollback = await http.PostAsync("/v1/admin/tenants/default/routes/rollback/rollback", ChatCompletionsTests.Json("""{"version":1}"""));
        var v3 = await Served(http, "rollback");
        var versions = JsonDocument.Parse(await http.GetStringAsync(new Uri("/v1/admin/tenants/default/routes/rollback/versions", UriKind.Relative))).RootElement;

        Assert.Equal(HttpStatusCode.OK, rollback.StatusCode);
        Assert.Equal(("one", "1"), v1);
        Assert.Equal(("two", "2"), v2);
        Assert.Equal(("one", "3"), v3);
        Assert.Equal([1, 2, 3], versions.GetProperty("data").EnumerateArray().Select(v => v.GetProperty("version").GetInt32()));
        Assert.Equal("rolled back to version 1", versions.GetProperty("data")[2].GetProperty("change").GetString());
    }

    [Fact]
    public async Task A_tenant_override_of_a_platform_alias_can_be_removed_and_only_its_tenant_sees_it()
    {
        using var http = _gateway.Http();
        using var other = _gateway.Http(GatewayFactory.OtherTenantKey);

        await Put(http, "sim-large", """{"deployments":[{"name":"own-large","provider":"simulated"}]}""");
        await Put(http, "only-default", """{"deployments":[{"name":"own","provider":"simulated"}]}""");
        var overridden = await Served(http, "sim-large");
        var otherTenant = await Served(other, "sim-large");
        var models = await http.GetStringAsync(new Uri("/v1/models", UriKind.Relative));
        var otherModels = await other.GetStringAsync(new Uri("/v1/models", UriKind.Relative));
        using var reset = await http.DeleteAsync(new Uri("/v1/admin/tenants/default/routes/sim-large", UriKind.Relative));
        var afterReset = await Served(http, "sim-large");

        Assert.Equal("own-large", overridden.Deployment);
        Assert.Equal("sim-large", otherTenant.Deployment);
        Assert.Contains("\"only-default\"", models, StringComparison.Ordinal);
        Assert.DoesNotContain("\"only-default\"", otherModels, StringComparison.Ordinal);
        Assert.Equal("platform", JsonDocument.Parse(await reset.Content.ReadAsStringAsync()).RootElement.GetProperty("source").GetString());
        Assert.Equal("sim-large", afterReset.Deployment);
    }

    [Theory]
    [InlineData("""{"strategy":"fastest","deployments":[{"name":"a","credential":"first","upstream_model":"sim-upstream"}]}""", "strategy")]
    [InlineData("""{"deployments":[{"name":"a","credential":"nope"}]}""", "deployments")]
    [InlineData("""{"deployments":[{"name":"a","base_url":"http://169.254.169.254/v1"}]}""", "deployments")]
    [InlineData("""{"deployments":[{"name":"a","credential":"first","base_url":"http://127.0.0.1:1/v1"}]}""", "deployments")]
    [InlineData("""{"deployments":[]}""", "deployments")]
    [InlineData("""{"deployments":[{"name":"a","credential":"first","upstream_model":"sim-upstream"},{"name":"a","credential":"second","upstream_model":"sim-upstream"}]}""", "deployments")]
    [InlineData("""{"strategy":"canary","canary_deployment":"zzz","deployments":[{"name":"a","credential":"first","upstream_model":"sim-upstream"},{"name":"b","credential":"second","upstream_model":"sim-upstream"}]}""", "canary_deployment")]
    [InlineData("""{"deployments":[{"name":"a","credential":"first","upstream_model":"sim-upstream"}],"circuit":{"failure_ratio":0}}""", "circuit")]
    [InlineData("""{"deployments":[{"name":"a","credential":"first","upstream_model":"sim-upstream"}],"fallback_on_status":[200]}""", "fallback_on_status")]
    [InlineData("""{"deployments":[{"name":"a","provider":"bedrock"}]}""", "deployments")]
    [InlineData("""{"deployments":[{"name":"a","credential":"private","upstream_model":"sim-upstream"}]}""", "deployments")]
    [InlineData("""{"deployments":[{"name":"a","credential":"first","upstream_model":"gpt-5-pro"}]}""", "deployments")]
    public async Task An_invalid_route_is_refused_with_the_field_named_and_the_current_version_kept(string body, string param)
    {
        using var http = _gateway.Http();
        await Put(http, "guarded", """{"deployments":[{"name":"kept","credential":"first","upstream_model":"sim-upstream"}]}""");

        using var response = await http.PutAsync("/v1/admin/tenants/default/routes/guarded", ChatCompletionsTests.Json(body));

        await response.AssertOpenAIError(HttpStatusCode.BadRequest, param);
        Assert.Equal("kept", (await Served(http, "guarded")).Deployment);
    }

    [Fact]
    public async Task A_tenants_route_is_priced_from_the_credentials_model_list_whatever_it_asks_for()
    {
        using var http = _gateway.Http();

        await Put(http, "priced", """{"deployments":[{"name":"cheap","credential":"first","upstream_model":"sim-upstream","prices":{"input_per_million":0,"output_per_million":0}}]}""");
        var route = JsonDocument.Parse(await http.GetStringAsync(new Uri("/v1/admin/tenants/default/routes/priced", UriKind.Relative))).RootElement;

        var prices = route.GetProperty("config").GetProperty("deployments")[0].GetProperty("prices");
        Assert.Equal((1m, 2m), (prices.GetProperty("input_per_million").GetDecimal(), prices.GetProperty("output_per_million").GetDecimal()));
    }

    [Fact]
    public async Task Deleting_a_tenant_only_alias_answers_with_the_deletion_and_the_alias_is_gone()
    {
        using var http = _gateway.Http();
        await Put(http, "short-lived", """{"deployments":[{"name":"x","provider":"simulated"}]}""");

        using var deleted = await http.DeleteAsync(new Uri("/v1/admin/tenants/default/routes/short-lived", UriKind.Relative));
        using var call = await http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(Body("short-lived", "hi")));
        var models = await http.GetStringAsync(new Uri("/v1/models", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.True(JsonDocument.Parse(await deleted.Content.ReadAsStringAsync()).RootElement.GetProperty("deleted").GetBoolean());
        await call.AssertOpenAIError(HttpStatusCode.NotFound, "model");
        Assert.DoesNotContain("\"short-lived\"", models, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tenant_admin_cannot_read_or_change_another_tenants_routes()
    {
        using var other = _gateway.Http(GatewayFactory.OtherTenantKey);

        using var read = await other.GetAsync(new Uri("/v1/admin/tenants/default/routes/sim-small", UriKind.Relative));
        using var write = await other.PutAsync("/v1/admin/tenants/default/routes/sim-small", ChatCompletionsTests.Json("""{"deployments":[{"name":"x","provider":"simulated"}]}"""));

        await read.AssertOpenAIError(HttpStatusCode.NotFound);
        await write.AssertOpenAIError(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task No_provider_key_appears_in_any_response_body_header_log_line_or_span()
    {
        var tags = new List<string>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name.StartsWith("Conversations", StringComparison.Ordinal) || source.Name.Contains("Extensions.AI", StringComparison.Ordinal),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                lock (tags)
                {
                    tags.Add(activity.DisplayName + " " + string.Join(' ', activity.TagObjects.Select(t => $"{t.Key}={t.Value}")) + " " + activity.StatusDescription);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        using var http = _gateway.Http();
        await Put(http, "works", """{"deployments":[{"name":"good","credential":"first","upstream_model":"sim-upstream"}]}""");
        await Put(http, "refused", """{"deployments":[{"name":"bad","credential":"refused","upstream_model":"sim-upstream"}],"retry":{"max_retries_per_deployment":0}}""");

        var exchanges = new List<HttpResponseMessage>
        {
            await http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(Body("works", "hello"))),
            await http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(Body("works", "hello", stream: true))),
            await http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(Body("refused", "hello"))),
            await http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(Body("refused", "hello", stream: true))),
            await http.GetAsync(new Uri("/v1/admin/tenants/default/routes", UriKind.Relative)),
            await http.GetAsync(new Uri("/v1/admin/tenants/default/routes/refused/versions", UriKind.Relative)),
            await http.GetAsync(new Uri("/v1/models", UriKind.Relative)),
        };
        var seen = new List<string>();
        foreach (var response in exchanges)
        {
            seen.Add(await response.Content.ReadAsStringAsync());
            seen.AddRange(response.Headers.Concat(response.Content.Headers).Select(h => $"{h.Key}: {string.Join(',', h.Value)}"));
        }

        Assert.Equal(HttpStatusCode.OK, exchanges[0].StatusCode); // the good key was sent and accepted
        Assert.Equal(HttpStatusCode.BadGateway, exchanges[2].StatusCode); // the refused key was sent, refused, and the failure logged
        Assert.Contains(_logs.Lines, line => line.Contains("bad", StringComparison.Ordinal) && line.Contains("401", StringComparison.Ordinal));
        Assert.Contains(seen, text => text.Contains("\"credential\":\"refused\"", StringComparison.Ordinal)); // the reference is shown, not the secret
        foreach (var secret in new[] { LeakyKey, UpstreamServer.Key })
        {
            Assert.DoesNotContain(seen, text => text.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(_logs.Lines, line => line.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(tags, line => line.Contains(secret, StringComparison.Ordinal));
        }

        exchanges.ForEach(response => response.Dispose());
    }

    private static async Task Put(HttpClient http, string alias, string body)
    {
        using var response = await http.PutAsync($"/v1/admin/tenants/default/routes/{alias}", ChatCompletionsTests.Json(body));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<(string Deployment, string Version)> Served(HttpClient http, string model)
    {
        using var response = await http.PostAsync("/v1/chat/completions", ChatCompletionsTests.Json(Body(model, "which deployment?")));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (Header(response, CallHeaders.Deployment), Header(response, CallHeaders.RouteVersion));
    }
}
