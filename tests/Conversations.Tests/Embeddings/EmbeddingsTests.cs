using System.Net;
using System.Numerics.Tensors;
using System.Text.Json;
using Conversations.Api.Streaming;
using Conversations.Tests.Api;
using Conversations.Tests.Infrastructure;
using Conversations.Tests.Tenancy;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenAI.Embeddings;

namespace Conversations.Tests.Embeddings;

/// <summary><c>POST /v1/embeddings</c>: the local model through the official SDK, routing with fallback, quotas, and bad input.</summary>
public sealed class EmbeddingsTests : IAsyncLifetime
{
    private readonly CapturedLogs _logs = new();
    private UpstreamServer _upstream = null!;
    private GatewayFactory _gateway = null!;

    public async ValueTask InitializeAsync()
    {
        _upstream = await UpstreamServer.StartAsync();
        var settings = _upstream.CredentialSettings("upstream");
        settings["Conversations:Credentials:dead:ApiKey"] = "unused";
        settings["Conversations:Credentials:dead:BaseUrl"] = $"http://127.0.0.1:{FreePorts.Next()}/v1";
        foreach (var (key, value) in Routing.RoutingFixture.Flatten("""
            {
              "Conversations": {
                "Routes": {
                  "sim-small": { "Deployments": [ { "Name": "sim-small", "Provider": "Simulated" } ] },
                  "local-embeddings": { "Deployments": [ { "Name": "all-MiniLM-L6-v2", "Provider": "LocalEmbeddings" } ] },
                  "remote-embeddings": { "Deployments": [ { "Name": "upstream", "Credential": "upstream", "UpstreamModel": "sim-embed" } ] },
                  "falling-back": {
                    "Deployments": [ { "Name": "dead", "Credential": "dead" }, { "Name": "local", "Provider": "LocalEmbeddings", "Priority": 1 } ],
                    "Retry": { "BaseDelay": "00:00:00.010" }
                  }
                }
              }
            }
            """))
        {
            settings[key] = value;
        }

        _gateway = new GatewayFactory(settings, services => services.AddSingleton<ILoggerProvider>(_logs));
    }

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task The_official_sdk_gets_local_embeddings_whose_similarity_follows_meaning()
    {
        var client = _gateway.OpenAI().GetEmbeddingClient("local-embeddings");

        var result = (await client.GenerateEmbeddingsAsync(
            ["My dog Biscuit loves the beach.", "Biscuit is a dog who enjoys the seaside.", "Quarterly revenue grew by four percent."])).Value;

        var vectors = result.Select(e => e.ToFloats().ToArray()).ToList();
        Assert.All(vectors, v => Assert.Equal(384, v.Length));
        Assert.True(TensorPrimitives.CosineSimilarity(vectors[0], vectors[1]) > TensorPrimitives.CosineSimilarity(vectors[0], vectors[2]) + 0.3f);
        Assert.True(result.Usage.InputTokenCount > 0);
    }

    [Fact]
    public async Task Float_vectors_name_their_deployment_and_an_unreachable_deployment_falls_back_and_is_logged()
    {
        using var http = _gateway.Http();

        using var remote = await http.PostAsync("/v1/embeddings", ChatCompletionsTests.Json("""{"model":"remote-embeddings","input":["a","b"],"encoding_format":"float"}"""));
        using var fallback = await http.PostAsync("/v1/embeddings", ChatCompletionsTests.Json("""{"model":"falling-back","input":"hello","encoding_format":"float"}"""));
        var body = JsonDocument.Parse(await remote.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.OK, remote.StatusCode);
        Assert.Equal(2, body.GetProperty("data").GetArrayLength());
        Assert.Equal(384, body.GetProperty("data")[1].GetProperty("embedding").GetArrayLength());
        Assert.Equal("upstream", Header(remote, CallHeaders.Deployment));
        Assert.Equal(HttpStatusCode.OK, fallback.StatusCode);
        Assert.Equal(("local", "3"), (Header(fallback, CallHeaders.Deployment), Header(fallback, CallHeaders.Attempts)));
        Assert.Contains(_logs.Lines, line => line.StartsWith("Warning", StringComparison.Ordinal) && line.Contains("Model deployment dead failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Embeddings_count_against_the_tenants_token_limits()
    {
        var admin = new TenantClient(_gateway.Http());
        var tenant = await admin.CreateTenant(limits: new { tokens_per_minute = 20 });
        var (_, secret) = await admin.CreateKey(tenant);
        using var http = _gateway.Http(secret);

        using var small = await http.PostAsync("/v1/embeddings", ChatCompletionsTests.Json("""{"model":"local-embeddings","input":"a few words"}"""));
        using var large = await http.PostAsync("/v1/embeddings", ChatCompletionsTests.Json(
            JsonSerializer.Serialize(new { model = "local-embeddings", input = string.Join(' ', Enumerable.Repeat("tokens", 50)) })));

        Assert.Equal(HttpStatusCode.OK, small.StatusCode);
        var error = await large.AssertOpenAIError(HttpStatusCode.TooManyRequests);
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("/v1/embeddings", """{"model":"local-embeddings"}""", "input")]
    [InlineData("/v1/embeddings", """{"model":"local-embeddings","input":[1,2,3]}""", "input")]
    [InlineData("/v1/embeddings", """{"model":"local-embeddings","input":""}""", "input")]
    [InlineData("/v1/embeddings", """{"model":"local-embeddings","input":"x","dimensions":100}""", "dimensions")]
    [InlineData("/v1/embeddings", """{"model":"local-embeddings","input":"x","encoding_format":"int8"}""", "encoding_format")]
    [InlineData("/v1/embeddings", """{"model":"sim-small","input":"x"}""", "model")]
    [InlineData("/v1/chat/completions", """{"model":"local-embeddings","messages":[{"role":"user","content":"x"}]}""", "model")]
    public async Task Bad_requests_are_refused_with_the_field_named(string path, string body, string param)
    {
        using var http = _gateway.Http();

        using var response = await http.PostAsync(path, ChatCompletionsTests.Json(body));

        Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, response.StatusCode.ToString());
        await response.AssertOpenAIError(response.StatusCode, param);
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : throw new Xunit.Sdk.XunitException($"No '{name}' header.");
}
