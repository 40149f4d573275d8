using System.Globalization;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Hosting;

/// <summary>
/// PostgreSQL as the production backend (Orleans' ADO.NET providers over Npgsql) against a real throwaway server:
/// two silos form one cluster through its membership table and share grain state in it, across a full restart.
/// </summary>
public sealed class PostgreSqlTests
{
    [Fact]
    public async Task Two_silos_cluster_on_postgresql_and_a_conversation_written_through_one_is_read_through_the_other_after_a_restart()
    {
        await using var postgres = await PostgreSqlServer.StartOrSkipAsync();
        var serviceId = "svc-" + Guid.NewGuid().ToString("N")[..12];
        var clusterId = "pg-" + Guid.NewGuid().ToString("N")[..8];
        Dictionary<string, string?> Settings() => new()
        {
            ["Conversations:Cluster:Clustering"] = "PostgreSql",
            ["Conversations:Cluster:Storage"] = "PostgreSql",
            ["Conversations:Cluster:PostgreSqlConnectionString"] = postgres.ConnectionString,
            ["Conversations:Cluster:ServiceId"] = serviceId,
            ["Conversations:Cluster:ClusterId"] = clusterId,
        };

        List<(string Role, string Text)> written;
        string id;
        await using (var first = new GatewayFactory(Settings()))
        await using (var second = new GatewayFactory(Settings()))
        {
            await Eventually.Get(async () => await ActiveSilos(postgres, clusterId) == 2 ? "joined" : null);
            var conversation = await HttpConversation.CreateAsync(first.Http());
            await conversation.TurnAsync("written through the first silo");
            written = await conversation.ItemsAsync();
            id = conversation.Id;

            Assert.Equal(written, await new HttpConversation(second.Http(), id).ItemsAsync());
        }

        Assert.True(await StoredRows(postgres, serviceId) > 0, "the grain state is rows in PostgreSQL's OrleansStorage");
        await using var restartedFirst = new GatewayFactory(Settings());
        await using var restartedSecond = new GatewayFactory(Settings());
        await Eventually.Get(async () => await ActiveSilos(postgres, clusterId) == 2 ? "joined again" : null);

        Assert.Contains(written, item => item.Text == "written through the first silo");
        Assert.Equal(written, await new HttpConversation(restartedSecond.Http(), id).ItemsAsync());
    }

    /// <summary>Silos the cluster's PostgreSQL membership table lists as active (Orleans' <c>SiloStatus.Active</c> is 3).</summary>
    private static async Task<int> ActiveSilos(PostgreSqlServer postgres, string clusterId) =>
        int.Parse((await postgres.Query($"SELECT count(*) FROM orleansmembershiptable WHERE deploymentid = '{clusterId}' AND status = 3")).Trim(), CultureInfo.InvariantCulture);

    private static async Task<int> StoredRows(PostgreSqlServer postgres, string serviceId) =>
        int.Parse((await postgres.Query($"SELECT count(*) FROM orleansstorage WHERE serviceid = '{serviceId}'")).Trim(), CultureInfo.InvariantCulture);
}
