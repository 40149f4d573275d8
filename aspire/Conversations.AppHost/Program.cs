// The local system: Azurite (the Azure Storage emulator, run with node from the repository's node_modules), two silos
// clustered over Azure Table storage with grain state in Azure Blob storage, and the API host as an Orleans client.
var builder = DistributedApplication.CreateBuilder(args);
var repo = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, "..", ".."));
const string Storage = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;";

var azurite = builder.AddExecutable("azurite", "node", repo, "node_modules/azurite/dist/src/azurite.js", "--disableTelemetry", "--silent", "--skipApiVersionCheck",
        "--location", Path.Combine(repo, ".data", "azurite"), "--blobHost", "127.0.0.1", "--blobPort", "10000", "--queueHost", "127.0.0.1", "--queuePort", "10001", "--tableHost", "127.0.0.1", "--tablePort", "10002")
    .WithHttpEndpoint(port: 10002, targetPort: 10002, name: "table", isProxied: false)
    .WithHttpHealthCheck("/", statusCode: 400, endpointName: "table"); // an unauthenticated GET answers 400: Azurite is listening

// Every process joins the cluster through the Azure Table membership in Azurite; silos advertise loopback (ClusterSettings' default).
// A 64 MB first GC generation (fewer collections, so fewer calls wait on one) and socket completions run where they
// complete (one thread hop less per exchange): docs/operations.md, "Latency".
// Prompts and answers stay off the spans unless CONVERSATIONS_CAPTURE_MESSAGE_CONTENT=1 (Aspire turns the OpenTelemetry
// variable for it on for every project; the gateway reads its own setting): docs/operations.md, "Telemetry".
var captureContent = Environment.GetEnvironmentVariable("CONVERSATIONS_CAPTURE_MESSAGE_CONTENT") == "1" ? "true" : "false";
IResourceBuilder<ProjectResource> Clustered(IResourceBuilder<ProjectResource> project) => project
    .WithEnvironment("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", captureContent)
    .WithEnvironment("Conversations__Telemetry__CaptureMessageContent", captureContent)
    .WithEnvironment("DOTNET_GCgen0size", "0x4000000")
    .WithEnvironment("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1")
    .WithEnvironment("Conversations__Cluster__Clustering", "AzureTable")
    .WithEnvironment("Conversations__Cluster__AzureStorageConnectionString", Storage)
    .WithHttpHealthCheck("/health")
    .WaitFor(azurite);

// Two named silos rather than WithReplicas: both run on this machine, so each needs its own Orleans ports.
IResourceBuilder<ProjectResource> Silo(string name, string siloPort, string gatewayPort) =>
    Clustered(builder.AddProject<Projects.Conversations_Silo>(name, launchProfileName: null).WithHttpEndpoint())
        .WithEnvironment("Conversations__Cluster__Storage", "AzureBlob")
        .WithEnvironment("Conversations__Cluster__SiloPort", siloPort)
        .WithEnvironment("Conversations__Cluster__GatewayPort", gatewayPort)
        .WithEnvironment("Conversations__Api__Enabled", "false")
        // The tuned membership of docs/operations.md ("Failover"): a killed silo is declared dead in seconds, not 10 to 15.
        .WithEnvironment("Conversations__Cluster__Membership__ProbeTimeout", "00:00:01")
        .WithEnvironment("Conversations__Cluster__Membership__NumMissedProbesLimit", "2")
        .WithEnvironment("Conversations__Cluster__Membership__IAmAliveTablePublishTimeout", "00:00:15");

var silo1 = Silo("silo-1", "11111", "30000");
var silo2 = Silo("silo-2", "11112", "30001");

// Opt-in (needs docker): CONVERSATIONS_QDRANT=1 runs Qdrant in a container and the silos keep vectors there instead of in grains.
if (Environment.GetEnvironmentVariable("CONVERSATIONS_QDRANT") == "1")
{
    var qdrant = builder.AddContainer("qdrant", "qdrant/qdrant", "v1.15.0")
        .WithHttpEndpoint(port: 6334, targetPort: 6334, name: "grpc", isProxied: false);
    foreach (var silo in new[] { silo1, silo2 })
    {
        silo.WithEnvironment("Conversations__VectorStore__QdrantEndpoint", "http://127.0.0.1:6334").WaitFor(qdrant);
    }
}
Clustered(builder.AddProject<Projects.Conversations_ApiHost>("api", launchProfileName: null).WithHttpEndpoint(port: 8080).WithExternalHttpEndpoints())
    .WithEnvironment("CONVERSATIONS_API_KEY", builder.AddParameter("api-key", secret: true)) // default in appsettings.json
    .WaitFor(silo1)
    .WaitFor(silo2);

builder.Build().Run();
