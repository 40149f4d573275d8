namespace Conversations.SimulatedUpstream;

public static class UpstreamProgram
{
    public static Task Main(string[] args) => SimulatedUpstreamApp.Build(args).RunAsync();
}
