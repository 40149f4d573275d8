using Conversations.Grains;
using Conversations.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Conversations.Tests.Grains;

/// <summary>
/// The store's write protocol on the embedded SQLite storage with page writes made to fail: a page write cut
/// short (landed or not) leaves the head as it was, listing the page for clearing, and the next write clears it.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class ConversationStoreFaultTests(ClusterFixture fixture) : IDisposable
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("conversations-store-");
    private readonly GrainId _grain = GrainId.Create("conversation", "tests/conv_faults");

    [Fact]
    public async Task A_page_write_that_fails_after_landing_changes_nothing_the_conversation_shows_and_is_cleared_by_the_next_write()
    {
        using var sqlite = new Silo.Storage.SqliteGrainStorage(
            Path.Combine(_data.FullName, "state.db"), new OrleansGrainStorageSerializer(fixture.Cluster.Client.ServiceProvider.GetRequiredService<Orleans.Serialization.Serializer>()));
        var storage = new FaultyStorage(sqlite);
        var store = Store(storage);
        var first = Items(10, "first");
        Assert.Null(await store.TryReplace(new ConversationState { Id = "conv_faults", Items = first }));

        storage.FailPagesAfterWriting = true;
        var failed = await store.TryReplace(store.State with { Items = [.. first, .. Items(ConversationStore.PageSize, "lost")] });

        Assert.NotNull(failed);
        var orphan = Assert.Single(storage.PagesWritten);
        var reloaded = Store(storage);
        await reloaded.Load();
        Assert.Equal(first.Select(item => item.Id), reloaded.State.Items.Select(item => item.Id));
        Assert.Equal([orphan], reloaded.State.Unreferenced);
        Assert.True(await storage.Exists(ConversationStore.PageName(orphan), _grain));

        storage.FailPagesAfterWriting = false;
        var second = Items(ConversationStore.PageSize, "second");
        Assert.Null(await reloaded.TryReplace(reloaded.State with { Items = [.. reloaded.State.Items, .. second] }));

        Assert.False(await storage.Exists(ConversationStore.PageName(orphan), _grain));
        var after = Store(storage);
        await after.Load();
        Assert.Equal([.. first, .. second], after.State.Items, new IdComparer());
        Assert.Single(after.State.Pages);

        // Names of cleared pages leave the stored head with the activation's next write (the one after the clearing).
        Assert.Null(await reloaded.TryReplace(reloaded.State with { Items = [.. reloaded.State.Items, .. Items(1, "third")] }));
        var settled = Store(storage);
        await settled.Load();
        Assert.Empty(settled.State.Unreferenced);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _data.Delete(recursive: true);
    }

    private ConversationStore Store(IGrainStorage storage)
    {
        var head = new StoredState<ConversationState>(storage, ConversationStore.HeadName, _grain);
        head.ReadStateAsync().GetAwaiter().GetResult();
        return new ConversationStore(head, storage, _grain, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
    }

    private static List<ConversationItem> Items(int count, string label) =>
        [.. Enumerable.Range(0, count).Select(i => new ConversationItem($"msg_{label}_{i}", Roles.User, $"{label} {i}", 1, DateTimeOffset.UnixEpoch))];

    private sealed class IdComparer : IEqualityComparer<ConversationItem>
    {
        public bool Equals(ConversationItem? x, ConversationItem? y) => x?.Id == y?.Id && x?.Text == y?.Text;

        public int GetHashCode(ConversationItem obj) => obj.Id.GetHashCode(StringComparison.Ordinal);
    }

    /// <summary>Real storage whose page writes can be made to fail after they land (an ambiguous failure: a timeout on a write that happened).</summary>
    private sealed class FaultyStorage(IGrainStorage inner) : IGrainStorage
    {
        public bool FailPagesAfterWriting { get; set; }

        public List<string> PagesWritten { get; } = [];

        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ReadStateAsync(stateName, grainId, grainState);

        public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            await inner.WriteStateAsync(stateName, grainId, grainState);
            if (FailPagesAfterWriting && stateName.StartsWith(ConversationStore.PageName(""), StringComparison.Ordinal))
            {
                PagesWritten.Add(stateName[ConversationStore.PageName("").Length..]);
                throw new TimeoutException("The page write timed out (after it landed).");
            }
        }

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ClearStateAsync(stateName, grainId, grainState);

        public async Task<bool> Exists(string stateName, GrainId grainId)
        {
            var record = new GrainState<ItemPageRecord>();
            await inner.ReadStateAsync(stateName, grainId, record);
            return record.RecordExists;
        }
    }

    /// <summary>A grain's persistent state over a storage provider, as Orleans' own bridge keeps it (ETag and existence from storage).</summary>
    private sealed class StoredState<T>(IGrainStorage storage, string name, GrainId grain) : IPersistentState<T>
    {
        private readonly GrainState<T> _record = new();

        public T State { get => _record.State!; set => _record.State = value; }

        public string? Etag => _record.ETag;

        public bool RecordExists => _record.RecordExists;

        public Task ReadStateAsync() => storage.ReadStateAsync(name, grain, _record);

        public Task WriteStateAsync() => storage.WriteStateAsync(name, grain, _record);

        public Task ClearStateAsync() => storage.ClearStateAsync(name, grain, _record);
    }
}
