using Conversations.Grains;
using Conversations.Routing;
using Microsoft.Extensions.Configuration;
using Orleans.TestingHost;

namespace Conversations.Tests.Infrastructure;

/// <summary>An in-process cluster of three silos with the real grains and the simulated models.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    private InProcessTestCluster? _cluster;

    public InProcessTestCluster Cluster => _cluster ?? throw new InvalidOperationException("The cluster is not deployed.");

    public IGrainFactory Grains => Cluster.Client;

    /// <summary>The keys of every route grain any silo of this cluster has run a call on.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> RouteGrainCalls { get; } = new();

    /// <summary>The keys of the route grains asked for a plan, once per request.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> RoutePlans { get; } = new();

    public async ValueTask InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(3);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorage(StorageNames.Conversations);
            silo.Services.AddConversationGrainServices(new ConfigurationBuilder().Build());
            silo.AddIncomingGrainCallFilter(context =>
            {
                if (context.Grain is Conversations.Grains.Routing.ModelRouteGrain)
                {
                    RouteGrainCalls.Enqueue(context.TargetId.Key.ToString()!);
                    if (context.InterfaceMethod.Name is nameof(IModelRouteGrain.Plan) or nameof(Conversations.Grains.Routing.IRouteLeases.PlanAndLease))
                    {
                        RoutePlans.Enqueue(context.TargetId.Key.ToString()!);
                    }
                }

                return context.Invoke();
            });
        });
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
