using Conversations.Silo.Storage;
using Conversations.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Conversations.Tests.Hosting;

/// <summary>
/// The embedded grain storage commits the writes waiting at once in one transaction: each is acknowledged
/// only once on disk, an ETag conflict fails that write alone, and everything survives a new instance.
/// </summary>
[Collection(ClusterCollection.Name)]
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class SqliteGrainStorageTests(ClusterFixture fixture) : IDisposable
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("conversations-sqlite-");

    [Fact]
    public async Task Writes_waiting_together_commit_as_one_acknowledged_only_after_it_and_a_stale_etag_fails_alone()
    {
        var path = Path.Combine(_data.FullName, "state.db");
        var grains = Enumerable.Range(0, 200).Select(i => GrainId.Create("test", $"grain-{i}")).ToList();
        var states = grains.Skip(1).Select(grain => new GrainState<string>(Value(grain))).ToList();
        using (var storage = Storage(path))
        {
            var moved = new GrainState<string>("written twice");
            await storage.WriteStateAsync("s", grains[0], moved);
            var staleEtag = moved.ETag;
            await storage.WriteStateAsync("s", grains[0], moved); // moves the ETag on

            List<Task> batch;
            Task conflict;
            using (storage.HoldWrites())
            {
                batch = [.. grains.Skip(1).Zip(states, (grain, state) => storage.WriteStateAsync("s", grain, state))];
                conflict = storage.WriteStateAsync("s", grains[0], new GrainState<string>("stale") { ETag = staleEtag });
                Assert.DoesNotContain(batch, write => write.IsCompleted); // nothing is acknowledged before its commit
            }

            await Task.WhenAll(batch).WaitAsync(TimeSpan.FromSeconds(30));
            await Assert.ThrowsAsync<InconsistentStateException>(() => conflict.WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.All(states, state => Assert.True(state is { RecordExists: true, ETag: not null }));
        }

        using var reopened = Storage(path);
        foreach (var grain in grains)
        {
            var read = new GrainState<string>();
            await reopened.ReadStateAsync("s", grain, read);
            Assert.Equal(grain == grains[0] ? "written twice" : Value(grain), read.State);
        }
    }

    [Fact]
    public async Task Disposing_finishes_the_queued_writes_twice_is_harmless_and_a_write_after_it_is_refused()
    {
        var path = Path.Combine(_data.FullName, "state.db");
        var grain = GrainId.Create("test", "disposed");
        var storage = Storage(path);
        Task queued;
        using (storage.HoldWrites())
        {
            queued = storage.WriteStateAsync("s", grain, new GrainState<string>("queued"));
        }

        storage.Dispose();
        storage.Dispose();

        Assert.True(queued.IsCompletedSuccessfully);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => storage.WriteStateAsync("s", grain, new GrainState<string>("late")));
        using var reopened = Storage(path);
        var read = new GrainState<string>();
        await reopened.ReadStateAsync("s", grain, read);
        Assert.Equal("queued", read.State);
    }

    private static string Value(GrainId grain) => $"value of {grain}";

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _data.Delete(recursive: true);
    }

    private SqliteGrainStorage Storage(string path) =>
        new(path, new OrleansGrainStorageSerializer(fixture.Cluster.Client.ServiceProvider.GetRequiredService<Orleans.Serialization.Serializer>()));
}
