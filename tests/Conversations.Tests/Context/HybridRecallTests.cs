using System.Globalization;
using Conversations.Embeddings;
using Conversations.Grains.Memory;
using Conversations.Memory;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Context;

/// <summary>
/// Hybrid search in the embedded vector store, with the local embedding model: a question's exact tokens (an order
/// number, a code, a name) find the record that holds them among hundreds alike, which the embeddings alone miss;
/// statements of one fact at different times are told apart from statements of different facts.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class HybridRecallTests(ClusterFixture fixture)
{
    private static readonly LocalEmbeddingGenerator Embeddings = new();
    private static readonly string[] Cities = ["Lyon", "Porto", "Graz", "Turku", "Ghent", "Split", "Cork", "Brno"];
    private static readonly string[] Goods = ["garden chairs", "a desk lamp", "two rugs", "a bookshelf", "kitchen scales", "a kettle"];

    [Fact]
    public async Task A_questions_order_number_finds_its_order_among_two_hundred_alike_with_hybrid_search_and_not_with_embeddings_alone()
    {
        var store = new GrainVectorStore(fixture.Grains).For("t-" + Guid.NewGuid().ToString("N")[..8], "conv:conv_" + Guid.NewGuid().ToString("N"));
        var texts = Enumerable.Range(0, 200).Select(i => string.Create(CultureInfo.InvariantCulture,
            $"Order {40_000 + (i * 137)} with {Goods[i % Goods.Length]} shipped to a customer in {Cities[i % Cities.Length]}.")).ToList();
        var wanted = texts[117];
        await store.Upsert(await Records(texts));
        var question = "Remind me, where did order " + wanted.Split(' ')[1] + " go?";
        var query = await Embed(question);

        var dense = await store.HybridSearch(query, null, 3, 0.3f);
        var hybrid = await store.HybridSearch(query, question, 3, 0.3f);

        Assert.DoesNotContain(wanted, dense.Select(m => m.Text)); // what the issue saw: a small model blurs numbers
        Assert.Contains(wanted, hybrid.Select(m => m.Text));
        Assert.All(hybrid, m => Assert.NotNull(m.Vector));
    }

    [Fact]
    public async Task Words_that_most_records_share_find_nothing_lexically()
    {
        var store = new GrainVectorStore(fixture.Grains).For("t-" + Guid.NewGuid().ToString("N")[..8], "conv:conv_" + Guid.NewGuid().ToString("N"));
        var texts = Enumerable.Range(0, 40).Select(i => $"Order {i} shipped to a customer in {Cities[i % Cities.Length]}.").ToList();
        await store.Upsert(await Records(texts));
        var question = "Which order shipped to a customer?";

        var hybrid = await store.HybridSearch(await Embed(question), question, 5, 0.99f); // no record is that close by embedding

        Assert.Empty(hybrid);
    }

    [Fact]
    public async Task A_later_statement_of_the_same_fact_supersedes_the_earlier_and_other_facts_and_questions_do_not()
    {
        string[] texts =
        [
            "My gym membership number is 5521.",
            "My library card number is 8830.",
            "What is my gym membership number?",
            "My gym membership number is now 7730.",
        ];
        var vectors = (await Embeddings.GenerateAsync(texts)).Select(e => e.Vector.ToArray()).ToList();
        var recalled = texts.Select((text, i) => new Recollection(
            new ConversationItem("msg_" + i, Conversations.Roles.User, text, 5, DateTimeOffset.UnixEpoch.AddMinutes(i)), i, vectors[i])).ToList();

        var superseded = Supersession.Find(recalled);

        Assert.Equal(new Dictionary<string, string> { ["msg_0"] = "msg_3" }, superseded);
    }

    private static async Task<float[]> Embed(string text) => (await Embeddings.GenerateAsync([text]))[0].Vector.ToArray();

    private static async Task<List<VectorRecord>> Records(List<string> texts)
    {
        var vectors = await Embeddings.GenerateAsync(texts.Select(t => "user: " + t));
        return [.. texts.Select((text, i) => new VectorRecord("msg_" + i, vectors[i].Vector.ToArray(), "msg_" + i, text))];
    }
}
