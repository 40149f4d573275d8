using Conversations.SimulatedUpstream;

await SimulatedUpstreamApp.Build(args).RunAsync();
