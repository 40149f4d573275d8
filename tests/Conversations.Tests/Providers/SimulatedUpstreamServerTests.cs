using System.ClientModel;
using Conversations.Tests.Infrastructure;
using OpenAI;
using OpenAI.Embeddings;

namespace Conversations.Tests.Providers;

/// <summary>The standalone simulated upstream speaks OpenAI's wire format, checked with the official SDK.</summary>
public sealed class SimulatedUpstreamServerTests : IAsyncLifetime
{
    private UpstreamServer _upstream = null!;

    private OpenAIClient Client => new(new ApiKeyCredential(UpstreamServer.Key), new OpenAIClientOptions { Endpoint = _upstream.BaseUrl });

    public async ValueTask InitializeAsync() => _upstream = await UpstreamServer.StartAsync();

    public ValueTask DisposeAsync() => _upstream.DisposeAsync();

    [Fact]
    public async Task Embeddings_are_deterministic_unit_vectors_of_the_requested_size()
    {
        var embeddings = Client.GetEmbeddingClient("sim-embed");

        OpenAIEmbeddingCollection first = await embeddings.GenerateEmbeddingsAsync(["alpha", "beta"], new EmbeddingGenerationOptions { Dimensions = 64 });
        OpenAIEmbedding again = await embeddings.GenerateEmbeddingAsync("alpha", new EmbeddingGenerationOptions { Dimensions = 64 });

        var alpha = first[0].ToFloats().ToArray();
        Assert.Equal(64, alpha.Length);
        Assert.Equal(1.0, Math.Sqrt(alpha.Sum(v => (double)v * v)), precision: 4);
        Assert.Equal(alpha, again.ToFloats().ToArray());
        Assert.NotEqual(alpha, first[1].ToFloats().ToArray());
    }

    [Fact]
    public async Task Models_are_listed_and_a_wrong_key_is_refused()
    {
        var models = (await Client.GetOpenAIModelClient().GetModelsAsync()).Value;
        var refused = await Assert.ThrowsAsync<ClientResultException>(() =>
            new OpenAIClient(new ApiKeyCredential("wrong"), new OpenAIClientOptions { Endpoint = _upstream.BaseUrl }).GetOpenAIModelClient().GetModelsAsync());

        Assert.Contains(models, m => m.Id == "sim-upstream");
        Assert.Equal(401, refused.Status);
    }
}
