namespace Conversations.Tests.Infrastructure;

/// <summary>A test class with its own simulated upstream server and a gateway that routes the model "remote" to it over HTTP.</summary>
public abstract class UpstreamGatewayTest : IAsyncLifetime
{
    protected UpstreamServer Upstream { get; private set; } = null!;

    protected GatewayFactory Gateway { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Upstream = await UpstreamServer.StartAsync();
        var settings = Upstream.GatewaySettings("remote");
        Configure(settings);
        Gateway = new GatewayFactory(settings);
    }

    /// <summary>Adds to the gateway's settings before it starts (more routes, limits).</summary>
    protected virtual void Configure(Dictionary<string, string?> settings)
    {
    }

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}
