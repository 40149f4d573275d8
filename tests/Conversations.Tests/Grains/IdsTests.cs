using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Grains;

/// <summary>Ids drawn from per-thread blocks of random bytes are well formed and never repeat, across block refills and threads.</summary>
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class IdsTests
{
    [Fact]
    public async Task Ids_from_many_threads_across_block_refills_are_distinct_and_well_formed()
    {
        var perThread = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
            Enumerable.Range(0, 2_000).Select(i => i % 2 == 0 ? Ids.New(Ids.Message) : Ids.Opaque()).ToList())));
        var ids = perThread.SelectMany(list => list).ToList();

        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.All(ids.Where(id => id.StartsWith("msg_", StringComparison.Ordinal)), id => Assert.True(Ids.IsValid(id, Ids.Message) && id.Length == 52));
        Assert.All(ids.Where(id => !id.StartsWith("msg_", StringComparison.Ordinal)), id => Assert.Matches("^[0-9a-f]{32}$", id));
        Assert.Equal(4_000, ids.Count(id => id.StartsWith("msg_", StringComparison.Ordinal)));
    }
}
