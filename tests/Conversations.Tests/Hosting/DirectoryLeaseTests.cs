using Conversations.Silo.Hosting;
using Conversations.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Conversations.Tests.Hosting;

/// <summary>
/// A silo declared dead holds its grains for the directory's lease. Orleans counts the lease from the estimated failure
/// (the declaration less the failure-detection window), so with a fixed 30 s lease the tuned membership of the failover
/// drill held a dead silo's conversations 22 s after its declaration. The silo sets the lease so it ends
/// <c>Conversations:Cluster:DeadSiloLease</c> after the declaration, whatever the membership's tuning.
/// </summary>
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class DirectoryLeaseTests
{
    [Theory]
    [InlineData(null, null, null)]           // Orleans' membership defaults, our default lease
    [InlineData("00:00:01", "2", null)]      // the drills' and the documented production tuning
    [InlineData("00:00:01", "2", "00:00:05")]
    [InlineData("00:00:02", "3", "00:00:00")]
    public void A_dead_silos_grains_are_held_for_the_configured_time_after_its_declaration(string? probeTimeout, string? missedProbes, string? deadSiloLease)
    {
        var builder = WebApplication.CreateBuilder();
        var settings = new Dictionary<string, string?>
        {
            ["Conversations:Cluster:Storage"] = "Memory",
            ["Conversations:Cluster:Membership:ProbeTimeout"] = probeTimeout,
            ["Conversations:Cluster:Membership:NumMissedProbesLimit"] = missedProbes,
            ["Conversations:Cluster:DeadSiloLease"] = deadSiloLease,
        };
        builder.Configuration.AddInMemoryCollection(settings.Where(setting => setting.Value is not null)); // unset, not empty
        builder.AddConversationsSilo();
        using var services = builder.Services.BuildServiceProvider();

        var membership = services.GetRequiredService<IOptions<ClusterMembershipOptions>>().Value;
        var lease = services.GetRequiredService<IOptions<GrainDirectoryOptions>>().Value.RangeLeaseDuration;

        // Orleans' failure-detection window (ClusterMembershipOptionsExtensions.GetFailureDetectionTimeout), which it subtracts.
        var heldAfterDeclaration = lease - membership.MaxProbeTimeout * membership.NumMissedProbesLimit;
        Assert.Equal(deadSiloLease is null ? TimeSpan.FromSeconds(1) : TimeSpan.Parse(deadSiloLease, System.Globalization.CultureInfo.InvariantCulture), heldAfterDeclaration);
        if (probeTimeout is not null)
        {
            Assert.Equal(TimeSpan.Parse(probeTimeout, System.Globalization.CultureInfo.InvariantCulture), membership.ProbeTimeout);
        }
    }
}
