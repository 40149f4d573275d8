using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Conversations.Tests.Infrastructure;

/// <summary>One running service shared by the API contract tests.</summary>
public sealed class GatewayFixture : IAsyncLifetime
{
    public GatewayFactory Gateway { get; private set; } = null!;

    /// <summary>What the gateway logged; tests in the collection run one at a time, so a test reads the lines after its start.</summary>
    public CapturedLogs Logs { get; } = new();

    public ValueTask InitializeAsync()
    {
        Gateway = new GatewayFactory(services: services => services.AddSingleton<ILoggerProvider>(Logs));
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => Gateway.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class GatewayCollection : ICollectionFixture<GatewayFixture>
{
    public const string Name = "gateway";
}
