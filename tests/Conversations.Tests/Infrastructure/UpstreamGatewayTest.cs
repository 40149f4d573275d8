namespace Conversations.Tests.Infrastructure;

/// <summary>A test class with its own simulated upstream server and a gateway that routes the model "remote" to it over HTTP.</summary>
public abstract class UpstreamGatewayTest : IAsyncLifetime
{
    protected UpstreamServer Upstream { get; private set; } = null!;

    protected GatewayFactory Gateway { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Upstream = await UpstreamServer.StartAsync();
        Gateway = new GatewayFactory(Upstream.GatewaySettings("remote"));
    }

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}
