using System.Net;
using Conversations.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Conversations.Tests.Drills;

/// <summary>
/// <c>/health</c> means ready: it fails while grain storage (Azure Blob in a real Azurite, or a real PostgreSQL) is
/// down and recovers when storage returns, without a restart; <c>/alive</c> stays up throughout.
/// </summary>
public sealed class ReadinessTests
{
    [Theory]
    [InlineData(Backend.AzureStorage)]
    [InlineData(Backend.PostgreSql)]
    public async Task Readiness_fails_while_storage_is_down_and_recovers_without_a_restart_while_liveness_stays_up(Backend backend)
    {
        await using var storage = await ClusterBackend.StartAsync(backend);
        await using var gateway = new GatewayFactory(storage.GrainStorage());
        using var http = gateway.Http(apiKey: null);
        Assert.Equal(HttpStatusCode.OK, await Ready(http)); // once started

        await storage.StopAsync();
        using var down = await http.GetAsync("/health");
        using var aliveDuringOutage = await http.GetAsync("/alive");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
        Assert.Equal("Unhealthy", await down.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, aliveDuringOutage.StatusCode);

        await storage.StartAgainAsync();
        Assert.Equal(HttpStatusCode.OK, await Ready(http));
    }

    private static Task<HttpStatusCode> Ready(HttpClient http) => Eventually.Get(async () =>
    {
        using var response = await http.GetAsync("/health");
        return response.StatusCode == HttpStatusCode.OK ? response.StatusCode : (HttpStatusCode?)null;
    });

    [Fact]
    public async Task A_running_silo_is_ready_because_it_is_an_active_member_its_storage_answers_and_a_grain_call_succeeds()
    {
        await using var gateway = new GatewayFactory();

        var health = gateway.Services.GetRequiredService<HealthCheckService>();

        // A silo that has just started may not yet be an active member: ready is what it becomes, not what it is at once.
        var report = await Eventually.Get(async () =>
            await health.CheckHealthAsync(TestContext.Current.CancellationToken) is { Status: HealthStatus.Healthy } healthy ? healthy : null);

        Assert.Contains("active cluster member", report.Entries["silo-membership"].Description, StringComparison.Ordinal);
        Assert.Equal(HealthStatus.Healthy, report.Entries["grain-storage"].Status);
        Assert.Equal(HealthStatus.Healthy, report.Entries["cluster"].Status);
    }
}
