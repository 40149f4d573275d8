using System.Net;
using Conversations.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Conversations.Tests.Drills;

/// <summary>
/// <c>/health</c> means ready: it fails while grain storage (Azure Blob in a real Azurite) is down and
/// recovers when storage returns, without a restart; <c>/alive</c> stays up throughout.
/// </summary>
public sealed class ReadinessTests
{
    [Fact]
    public async Task Readiness_fails_while_storage_is_down_and_recovers_without_a_restart_while_liveness_stays_up()
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        await using var gateway = new GatewayFactory(new Dictionary<string, string?>
        {
            ["Conversations:Cluster:Storage"] = "AzureBlob",
            ["Conversations:Cluster:AzureStorageConnectionString"] = azurite.ConnectionString,
        });
        using var http = gateway.Http(apiKey: null);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);

        await azurite.StopAsync();
        using var down = await http.GetAsync("/health");
        using var aliveDuringOutage = await http.GetAsync("/alive");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
        Assert.Equal("Unhealthy", await down.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, aliveDuringOutage.StatusCode);

        await azurite.StartAgainAsync();
        var recovered = await Eventually.Get(async () =>
        {
            using var response = await http.GetAsync("/health");
            return response.StatusCode == HttpStatusCode.OK ? response.StatusCode : (HttpStatusCode?)null;
        });
        Assert.Equal(HttpStatusCode.OK, recovered);
    }

    [Fact]
    public async Task A_running_silo_is_ready_because_it_is_an_active_member_its_storage_answers_and_a_grain_call_succeeds()
    {
        await using var gateway = new GatewayFactory();

        var report = await gateway.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(TestContext.Current.CancellationToken);

        Assert.Equal(HealthStatus.Healthy, report.Status);
        Assert.Contains("active cluster member", report.Entries["silo-membership"].Description, StringComparison.Ordinal);
        Assert.Equal(HealthStatus.Healthy, report.Entries["grain-storage"].Status);
        Assert.Equal(HealthStatus.Healthy, report.Entries["cluster"].Status);
    }
}
