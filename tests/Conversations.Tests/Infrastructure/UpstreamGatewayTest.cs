namespace Conversations.Tests.Infrastructure;

/// <summary>A test class with its own simulated upstream server and a gateway that routes the model "remote" to it over HTTP.</summary>
public abstract class UpstreamGatewayTest : IAsyncLifetime
{
    protected UpstreamServer Upstream { get; private set; } = null!;

    protected GatewayFactory Gateway { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Upstream = await UpstreamServer.StartAsync(UpstreamSettings);
        var settings = Upstream.GatewaySettings("remote");
        Configure(settings);
        Gateway = new GatewayFactory(settings);
    }

    /// <summary>The simulated upstream's own command-line settings (e.g. <c>--Simulation:ContextWindow=50</c>).</summary>
    protected virtual string[] UpstreamSettings => [];

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
