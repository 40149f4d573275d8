namespace Conversations.Tests.Infrastructure;

/// <summary>One running service shared by the API contract tests.</summary>
public sealed class GatewayFixture : IAsyncLifetime
{
    public GatewayFactory Gateway { get; private set; } = null!;

    public ValueTask InitializeAsync()
    {
        Gateway = new GatewayFactory();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => Gateway.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class GatewayCollection : ICollectionFixture<GatewayFixture>
{
    public const string Name = "gateway";
}
