using Conversations.Grains;
using Conversations.Grains.Memory;
using Conversations.Memory;
using Conversations.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Conversations.Tests.Context;

/// <summary>
/// The embedded vector index stores its records in sealed pages: adding records writes the head and, once a page fills,
/// one new page, never the pages already sealed; a delete writes again only the page that lost a record. Read from the
/// cluster's grain storage, and across a new activation.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class VectorPagesTests(ClusterFixture fixture)
{
    private const int Page = VectorPages.PageSize;

    [Fact]
    public async Task Records_added_one_at_a_time_fill_sealed_pages_that_later_additions_leave_unwritten()
    {
        var index = NewIndex();
        for (var i = 0; i < (3 * Page) + 4; i++)
        {
            Assert.Null(await index.Upsert([Record(i)]));
        }

        var afterThree = await Head(index);
        var sealedPages = await Task.WhenAll(afterThree!.Pages.Select(PageRecord(index)));
        for (var i = (3 * Page) + 4; i < (4 * Page) + 1; i++)
        {
            Assert.Null(await index.Upsert([Record(i)]));
        }

        var head = await Head(index);
        Assert.Equal(4, head!.Pages.Count);
        Assert.Equal(afterThree.Pages, head.Pages.Take(3)); // the sealed pages are referenced as they were
        Assert.All(sealedPages, page => Assert.Equal(Page, page!.Records.Count));
        Assert.Equal([$"item_{4 * Page}"], head.Records.Select(r => r.Source)); // the head holds only what no page holds
        var stored = (await Task.WhenAll(head.Pages.Select(PageRecord(index)))).SelectMany(page => page!.Records).Concat(head.Records);
        Assert.Equal(Enumerable.Range(0, (4 * Page) + 1).Select(i => $"item_{i}"), stored.Select(r => r.Source).Order(StringComparer.Ordinal).OrderBy(s => s.Length));

        await Reactivate();

        Assert.Equal((4 * Page) + 1, (await index.Sources()).Count);
        Assert.Equal("item_7", (await index.Search(Vector(7), 1, 0.5f)).Single().Source);
        Assert.Contains("item_7", (await index.HybridSearch(Vector(0), "the word seven", 2, -1f)).Select(m => m.Source)); // by its words, read back from a page
    }

    [Fact]
    public async Task A_delete_writes_again_only_the_page_that_lost_a_record_and_clears_the_old_one_and_clear_removes_every_page()
    {
        var index = NewIndex();
        Assert.Null(await index.Upsert([.. Enumerable.Range(0, 3 * Page).Select(Record)]));
        var before = (await Head(index))!.Pages;

        Assert.Null(await index.DeleteSource("item_1"));

        var after = (await Head(index))!;
        Assert.Equal(before.Skip(1), after.Pages); // the other pages are untouched
        Assert.Null(await PageRecord(index)(before[0])); // the dropped page's record is gone from storage
        Assert.Equal(Page - 1, after.Records.Count); // its other records wait in the head for the next page
        Assert.DoesNotContain("item_1", await index.Sources());
        Assert.Equal((3 * Page) - 1, (await index.Sources()).Count);

        Assert.Null(await index.Clear());

        Assert.Null(await Head(index));
        Assert.All(await Task.WhenAll(after.Pages.Select(PageRecord(index))), Assert.Null);
        Assert.Empty(await index.Sources());
    }

    private IVectorIndexGrain NewIndex() => fixture.Grains.GetGrain<IVectorIndexGrain>(GrainKeys.For("pages", VectorScopes.Conversation(Ids.New(Ids.Conversation))));

    private IGrainStorage Storage => fixture.Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(StorageNames.Conversations);

    private async Task<VectorIndexState?> Head(IVectorIndexGrain index)
    {
        var record = new GrainState<VectorIndexState>();
        await Storage.ReadStateAsync("vectors", index.GetGrainId(), record);
        return record.RecordExists ? record.State : null;
    }

    private Func<VectorPageRef, Task<VectorPageRecord?>> PageRecord(IVectorIndexGrain index) => async page =>
    {
        var record = new GrainState<VectorPageRecord>();
        await Storage.ReadStateAsync(VectorPages.PageName(page.Key), index.GetGrainId(), record);
        return record.RecordExists ? record.State : null;
    };

    private Task Reactivate() => fixture.Grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

    private static VectorRecord Record(int i) => new($"item_{i}", Vector(i), $"item_{i}", i == 7 ? "the word seven" : $"filler {i}");

    /// <summary>A unit vector of its own for each i.</summary>
    private static float[] Vector(int i)
    {
        var vector = new float[(4 * Page) + 2];
        vector[i] = 1f;
        return vector;
    }
}
