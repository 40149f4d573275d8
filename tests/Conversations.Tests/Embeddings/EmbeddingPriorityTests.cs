using Conversations.Embeddings;

namespace Conversations.Tests.Embeddings;

/// <summary>Background embeddings (indexing, ingestion) wait for the foreground's, and encode to the same vectors.</summary>
[Trait("Category", "Fast")]
public sealed class EmbeddingPriorityTests
{
    [Fact]
    public async Task A_background_encoding_waits_until_no_foreground_encoding_runs()
    {
        var gate = new ForegroundGate(Timeout.InfiniteTimeSpan);
        Assert.True(gate.Idle(CancellationToken.None).IsCompletedSuccessfully);

        var first = gate.Enter();
        var second = gate.Enter();
        var waiting = gate.Idle(CancellationToken.None);
        first.Dispose();
        first.Dispose(); // leaving twice counts once
        Assert.False(waiting.IsCompleted);

        second.Dispose();
        await waiting.WaitAsync(TestContext.Current.CancellationToken);
        Assert.True(gate.Idle(CancellationToken.None).IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Background_texts_encode_one_by_one_to_the_vectors_a_batch_gives()
    {
        using var generator = new LocalEmbeddingGenerator();
        string[] texts = ["user: the wifi password at the cabin is fjord-42", "assistant: noted", "how do I get online at the holiday house?"];

        var batch = await generator.GenerateAsync(texts, cancellationToken: TestContext.Current.CancellationToken);
        var background = await generator.GenerateAsync(texts, EmbeddingPriority.Background, TestContext.Current.CancellationToken);

        Assert.Equal(texts.Length, background.Count);
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.Equal(batch[i].Vector.ToArray(), background[i].Vector.ToArray(), (a, b) => Math.Abs(a - b) < 1e-5f);
        }
    }
}
