using System.Diagnostics;
using System.Globalization;
using Conversations.Grains;
using Conversations.SimulatedUpstream;
using Microsoft.Extensions.Configuration;
using Orleans.TestingHost;
using Yarp.ReverseProxy.Configuration;

namespace Conversations.Bench;

/// <summary>The processes of one gateway benchmark run, all on loopback: upstreams, a bare proxy, the service.</summary>
public static class BenchServers
{
    private static readonly string[] Configurations = ["Release", "Debug"];

    /// <summary>One in-process silo with the real grains, their default settings and memory storage, deployed.</summary>
    public static async Task<InProcessTestCluster> StartSilo()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorage(StorageNames.Conversations);
            silo.Services.AddConversationGrainServices(new ConfigurationBuilder().Build());
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    public static async Task<WebApplication> StartUpstream(int port, double tokensPerSecond)
    {
        var app = SimulatedUpstreamApp.Build([$"--urls=http://127.0.0.1:{port}", $"--Simulation:TokensPerSecond={tokensPerSecond.ToString(CultureInfo.InvariantCulture)}",
            "--Logging:LogLevel:Default=Warning"]);
        await app.StartAsync();
        return app;
    }

    /// <summary>YARP forwarding everything to the upstream: the physical baseline for "a proxy in the path".</summary>
    public static async Task<WebApplication> StartProxy(int port, Uri upstream)
    {
        var builder = WebApplication.CreateSlimBuilder([$"--urls=http://127.0.0.1:{port}"]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddReverseProxy().LoadFromMemory(
            [new RouteConfig { RouteId = "all", ClusterId = "upstream", Match = new RouteMatch { Path = "{**catch-all}" } }],
            [new ClusterConfig { ClusterId = "upstream", Destinations = new Dictionary<string, DestinationConfig> { ["only"] = new() { Address = upstream.ToString() } } }]);
        var app = builder.Build();
        app.MapReverseProxy();
        await app.StartAsync();
        return app;
    }

    /// <summary>The service under test, the embedded default as its own process, with durable local state.</summary>
    /// <param name="build">The silo's build output folder to run (another build, for a side-by-side run); this tree's build when null.</param>
    public static Task<Process> StartGateway(string root, int port, IReadOnlyDictionary<string, string> environment, string? build = null) =>
        StartService(build is not null ? Path.Combine(build, "Conversations.Silo.dll") : Output(root, "silo", "Conversations.Silo"), port, environment);

    /// <summary>An API host (an Orleans client of a cluster) as its own process.</summary>
    public static Task<Process> StartApiHost(string root, int port, IReadOnlyDictionary<string, string> environment) =>
        StartService(Output(root, "api", "Conversations.ApiHost"), port, environment);

    private static string Output(string root, string folder, string project) => Configurations
        .Select(c => Path.Combine(root, folder, project, "bin", c, "net10.0", project + ".dll"))
        .FirstOrDefault(File.Exists) ?? throw new FileNotFoundException("Build the solution first.");

    private static Task<Process> StartService(string dll, int port, IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetDirectoryName(dll)! };
        start.ArgumentList.Add(dll);
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        return StartProcess(start, new Uri($"http://127.0.0.1:{port}/health"));
    }

    /// <summary>
    /// The bare proxy as its own process (this program's <c>proxy</c> mode), so that it sits where the gateway
    /// does: the client, the upstream and it in three processes, as with the gateway. It gets the gateway's socket
    /// setting (inline completions), so a runtime setting is not counted as the gateway's own.
    /// </summary>
    public static Task<Process> StartProxyProcess(int port, Uri upstream)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = "1";
        foreach (var argument in new[] { typeof(BenchServers).Assembly.Location, "proxy", "--port", port.ToString(CultureInfo.InvariantCulture), "--upstream", upstream.ToString() })
        {
            start.ArgumentList.Add(argument);
        }

        return StartProcess(start, new Uri($"http://127.0.0.1:{port}/v1/models"));
    }

    /// <summary>A real Azurite (Azure Storage emulator, from npm: <c>npm ci</c> at the root) on free loopback ports, and its connection string.</summary>
    public static async Task<(Process Process, string ConnectionString)> StartAzurite(string root, DirectoryInfo data)
    {
        var (blob, queue, table) = (FreePort(), FreePort(), FreePort());
        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[]
        {
            Path.Combine(root, "node_modules", "azurite", "dist", "src", "azurite.js"), "--disableTelemetry", "--silent", "--skipApiVersionCheck", "--location", data.FullName,
            "--blobHost", "127.0.0.1", "--blobPort", $"{blob}", "--queueHost", "127.0.0.1", "--queuePort", $"{queue}", "--tableHost", "127.0.0.1", "--tablePort", $"{table}",
        })
        {
            start.ArgumentList.Add(argument);
        }

        var process = await StartProcess(start, new Uri($"http://127.0.0.1:{blob}/devstoreaccount1?comp=list"), answered: _ => true); // any answer: it listens
        return (process, "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
            + $"BlobEndpoint=http://127.0.0.1:{blob}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{queue}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{table}/devstoreaccount1;");
    }

    /// <summary>Starts a server process and waits until <paramref name="ready"/> answers with success.</summary>
    private static async Task<Process> StartProcess(ProcessStartInfo start, Uri ready, Func<HttpResponseMessage, bool>? answered = null)
    {
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var http = new HttpClient();
        for (var attempt = 0; attempt < 900; attempt++) // three minutes: a machine loaded by other builds starts a silo slowly
        {
            try
            {
                using var response = await http.GetAsync(ready);
                if (answered?.Invoke(response) ?? response.IsSuccessStatusCode)
                {
                    return process;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(200);
        }

        process.Kill();
        throw new TimeoutException($"{ready.GetLeftPart(UriPartial.Authority)} did not become ready.");
    }

    /// <summary>Resident memory of a process, from /proc.</summary>
    public static long ResidentBytes(Process process) => Status(process).Resident;

    /// <summary>Resident memory and threads of a process, from /proc.</summary>
    public static (long Resident, int Threads) Status(Process process)
    {
        var lines = File.ReadAllLines($"/proc/{process.Id}/status");
        long Field(string name) => long.Parse(lines.Single(l => l.StartsWith(name, StringComparison.Ordinal))[name.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        return (Field("VmRSS:") * 1024, (int)Field("Threads:"));
    }

    /// <summary>The one-minute load average (Linux); the machine's figures under load are the machine's, not the code's.</summary>
    public static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown";

    public static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
