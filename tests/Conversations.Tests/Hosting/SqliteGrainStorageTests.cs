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
public sealed class SqliteGrainStorageTests(ClusterFixture fixture) : IDisposable
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("conversations-sqlite-");

    [Fact]
    public async Task A_burst_of_writes_all_land_a_stale_etag_fails_alone_and_a_new_instance_reads_them_all()
    {
        var path = Path.Combine(_data.FullName, "state.db");
        var grains = Enumerable.Range(0, 200).Select(i => GrainId.Create("test", $"grain-{i}")).ToList();
        using (var storage = Storage(path))
        {
            var moved = new GrainState<string>("written twice");
            await storage.WriteStateAsync("s", grains[0], moved);
            var staleEtag = moved.ETag;
            await storage.WriteStateAsync("s", grains[0], moved); // moves the ETag on

            var burst = grains.Skip(1).Select(grain => storage.WriteStateAsync("s", grain, new GrainState<string>(Value(grain)))).ToList();
            var conflict = storage.WriteStateAsync("s", grains[0], new GrainState<string>("stale") { ETag = staleEtag });

            await Task.WhenAll(burst);
            await Assert.ThrowsAsync<InconsistentStateException>(() => conflict);
        }

        using var reopened = Storage(path);
        foreach (var grain in grains)
        {
            var read = new GrainState<string>();
            await reopened.ReadStateAsync("s", grain, read);
            Assert.Equal(grain == grains[0] ? "written twice" : Value(grain), read.State);
        }
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
