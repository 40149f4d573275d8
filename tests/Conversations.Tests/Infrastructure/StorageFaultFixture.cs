using Conversations.Grains;
using Conversations.Grains.Quotas;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;
using Orleans.TestingHost;

namespace Conversations.Tests.Infrastructure;

/// <summary>
/// One silo with the real grains over memory storage that a test can make fail (<see cref="FaultyGrainStorage"/>),
/// its log lines captured. Quota grains write behind only when asked, so no timer writes during a test.
/// </summary>
public sealed class StorageFaultFixture : IAsyncLifetime
{
    private const string Memory = "memory";

    private InProcessTestCluster? _cluster;

    public IGrainFactory Grains => Cluster.Client;

    public CapturedLogs Logs { get; } = new();

    private InProcessTestCluster Cluster => _cluster ?? throw new InvalidOperationException("The cluster is not deployed.");

    public async ValueTask InitializeAsync()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [$"{QuotaOptions.Section}:{nameof(QuotaOptions.FlushInterval)}"] = "1.00:00:00" })
            .Build();
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorage(Memory, (OptionsBuilder<MemoryGrainStorageOptions> memory) => memory.Configure<Serializer>(
                (options, serializer) => options.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer))); // as silos store state
            silo.Services.AddKeyedSingleton<IGrainStorage>(
                StorageNames.Conversations, (services, _) => new FaultyGrainStorage(services.GetRequiredKeyedService<IGrainStorage>(Memory)));
            silo.Services.AddConversationGrainServices(configuration);
            silo.Services.AddSingleton<ILoggerProvider>(Logs);
        });
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    /// <summary>What storage holds for <paramref name="grain"/> under <paramref name="stateName"/> (null: no record).</summary>
    public async Task<T?> Stored<T>(string stateName, IAddressable grain) where T : class
    {
        var record = new GrainState<T>();
        await Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(Memory).ReadStateAsync(stateName, grain.GetGrainId(), record);
        return record.RecordExists ? record.State : null;
    }

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}
