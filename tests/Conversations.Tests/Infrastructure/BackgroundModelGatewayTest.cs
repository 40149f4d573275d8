namespace Conversations.Tests.Infrastructure;

/// <summary>
/// A test class with a gateway and two simulated upstream servers: the model "remote" is served by <see cref="Model"/>, and
/// a route for background work (a summarizer, an extractor) named <paramref name="alias"/> by <see cref="Background"/>, so
/// a test can make the background model hang or fail alone. That route does not retry within a call; a failed background
/// pass is retried after 200 ms, doubling. <paramref name="routeSettings"/> adds settings under the route, e.g. <c>Timeouts:Total</c>.
/// </summary>
public abstract class BackgroundModelGatewayTest(string alias, IReadOnlyDictionary<string, string>? routeSettings = null) : IAsyncLifetime
{
    protected UpstreamServer Model { get; private set; } = null!;

    protected UpstreamServer Background { get; private set; } = null!;

    protected GatewayFactory Gateway { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Model = await UpstreamServer.StartAsync();
        Background = await UpstreamServer.StartAsync();
        var settings = Model.GatewaySettings("remote");
        foreach (var (key, value) in Background.CredentialSettings(alias))
        {
            settings[key] = value;
        }

        var route = $"Conversations:Routes:{alias}:";
        settings[route + "Deployments:0:Name"] = alias + "-upstream";
        settings[route + "Deployments:0:Credential"] = alias;
        settings[route + "Deployments:0:UpstreamModel"] = "sim-upstream";
        settings[route + "Retry:MaxRetriesPerDeployment"] = "0";
        foreach (var (key, value) in routeSettings ?? new Dictionary<string, string>())
        {
            settings[route + key] = value;
        }

        settings["Conversations:Context:SummaryRetryDelay"] = "00:00:00.200";
        Gateway = new GatewayFactory(settings);
    }

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Model.DisposeAsync();
        await Background.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}
