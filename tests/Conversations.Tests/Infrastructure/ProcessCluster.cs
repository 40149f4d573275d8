using System.Globalization;
using System.Net;
using Conversations.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Conversations.Tests.Infrastructure;

/// <summary>
/// A cluster of real processes on loopback for drills: a backend server (<see cref="ClusterBackend"/>: Azurite or
/// PostgreSQL), silos with membership, reminders and grain state in it (fast failure detection), API hosts as Orleans
/// clients, and an Orleans client in the test process that looks at the cluster from outside: which silos are active,
/// and which silo's catalog holds a grain's activations (what the silos run, not what the grain directory believes).
/// </summary>
public sealed class ProcessCluster : IAsyncDisposable
{
    private readonly ClusterBackend _backend;
    private readonly ClusterSettings _settings;
    private readonly string _apiKey;
    private readonly List<ServiceProcess> _processes = [];
    private readonly Dictionary<int, string> _siloNames = [];
    private readonly string _journals = Directory.CreateTempSubdirectory("audit-journals-").FullName;
    private IHost? _client;

    private ProcessCluster(ClusterBackend backend, string name, string apiKey)
    {
        _backend = backend;
        _apiKey = apiKey;
        _settings = backend.Cluster(name);
    }

    /// <summary>A cluster of its own on <paramref name="backend"/>, which it disposes with itself (a shared server's lease does nothing then).</summary>
    public static ProcessCluster On(ClusterBackend backend, string name, string apiKey) => new(backend, name, apiKey);

    /// <summary>Kills every silo and API started so far at once (SIGKILL), as a power cut would: the cluster's processes are gone, its backend stays.</summary>
    public async Task KillAllAsync()
    {
        List<ServiceProcess> processes;
        lock (_processes)
        {
            processes = [.. _processes];
        }

        await Task.WhenAll(processes.Select(process => process.KillAsync()));
    }

    /// <summary>
    /// Starts a silo (no API in it) and waits until it answers <c>/health</c>: on <paramref name="port"/> (a killed silo's, to
    /// start it again as an orchestrator would: same address, same audit journal) or a free one, with extra settings.
    /// </summary>
    public async Task<Silo> StartSiloAsync(string name, int? port = null, IReadOnlyDictionary<string, string>? settings = null)
    {
        var siloPort = port ?? FreePorts.Next();
        lock (_siloNames)
        {
            _siloNames[siloPort] = name;
        }

        var environment = SiloEnvironment(siloPort);
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        var process = await Keep(ServiceProcess.StartAsync(Repository.ProjectOutput("silo/Conversations.Silo", "Conversations.Silo"), environment));
        return new Silo(name, siloPort, process);
    }

    /// <summary>Starts an API host (an Orleans client) and waits until a grain call through it succeeds.</summary>
    public Task<ServiceProcess> StartApiAsync() =>
        Keep(ServiceProcess.StartAsync(Repository.ProjectOutput("api/Conversations.ApiHost", "Conversations.ApiHost"), ClusterEnvironment.Api(_settings, _apiKey)));

    public string SiloName(int port)
    {
        lock (_siloNames)
        {
            return _siloNames.TryGetValue(port, out var name) ? name : $"port {port}";
        }
    }

    /// <summary>An HTTP client of <paramref name="api"/> that sends the cluster's key (its waits bounded at 30 s, a hang guard).</summary>
    public HttpClient Http(ServiceProcess api)
    {
        var http = new HttpClient { BaseAddress = api.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", _apiKey);
        return http;
    }

    public async Task<IGrainFactory> Grains() => (await Client()).Services.GetRequiredService<IClusterClient>();

    /// <summary>The silos the membership table lists as active.</summary>
    public async Task<IReadOnlyList<string>> ActiveSilos()
    {
        var hosts = await (await Grains()).GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
        return [.. hosts.Keys.Select(silo => SiloName(silo.Endpoint.Port)).Order(StringComparer.Ordinal)];
    }

    /// <summary>For each grain, the silos whose catalogs hold an activation of it (none, one, or more than one).</summary>
    public async Task<Dictionary<GrainId, List<string>>> Activations(IEnumerable<GrainId> grains)
    {
        var wanted = grains.ToHashSet();
        var all = await (await Grains()).GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics();
        var found = wanted.ToDictionary(grain => grain, _ => new List<string>());
        foreach (var activation in all.Where(a => wanted.Contains(a.GrainId)))
        {
            found[activation.GrainId].Add(SiloName(activation.SiloAddress.Endpoint.Port));
        }

        foreach (var silos in found.Values)
        {
            silos.Sort(StringComparer.Ordinal);
        }

        return found;
    }

    /// <summary>
    /// Polls, within a bound, until the membership table no longer lists the killed silo as active and every API
    /// answers <c>/health</c> (a grain call through the cluster succeeds): the cluster serves again without it.
    /// </summary>
    public async Task WaitUntilServingWithout(Silo killed, IReadOnlyList<ServiceProcess> apis, TimeSpan bound)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var until = DateTime.UtcNow + bound;
        var last = "nothing tried yet";
        while (DateTime.UtcNow < until)
        {
            try
            {
                var active = await ActiveSilos().WaitAsync(TimeSpan.FromSeconds(5));
                var healthy = await Task.WhenAll(apis.Select(async api =>
                {
                    using var response = await http.GetAsync(new Uri(api.BaseAddress, "/health"));
                    return response.StatusCode == HttpStatusCode.OK;
                }));
                last = $"active silos: {string.Join(", ", active)}; APIs healthy: {string.Join(", ", healthy)}";
                if (!active.Contains(killed.Name) && healthy.All(ok => ok))
                {
                    return;
                }
            }
            catch (Exception exception) when (exception is OrleansException or TimeoutException or HttpRequestException or OperationCanceledException)
            {
                last = exception.GetType().Name + ": " + exception.Message;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }

        throw new TimeoutException($"The cluster did not serve without {killed.Name} within {bound}: {last}");
    }

    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            try
            {
                await _client.StopAsync(new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token);
            }
            catch (Exception exception) when (exception is OperationCanceledException or OrleansException)
            {
            }

            _client.Dispose();
        }

        List<ServiceProcess> processes;
        lock (_processes)
        {
            processes = [.. _processes];
        }

        foreach (var process in processes)
        {
            await process.DisposeAsync();
        }

        await _backend.DisposeAsync();
        Directory.Delete(_journals, recursive: true);
    }

    private async Task<ServiceProcess> Keep(Task<ServiceProcess> starting)
    {
        var process = await starting;
        lock (_processes)
        {
            _processes.Add(process);
        }

        return process;
    }

    private async Task<IHost> Client()
    {
        if (_client is null)
        {
            var builder = Host.CreateApplicationBuilder();
            builder.UseOrleansClient(_settings.ConfigureClient);
            var client = builder.Build();
            await client.StartAsync();
            _client = client;
        }

        return _client;
    }

    private Dictionary<string, string> SiloEnvironment(int siloPort)
    {
        var environment = ClusterEnvironment.Silo(_settings, _apiKey, siloPort);
        // What a silo deactivates when another one dies is worth reading in a drill's report.
        environment["Logging__LogLevel__Orleans.Runtime.GrainDirectory"] = "Information";
        // This cluster's own: a journal a killed silo leaves is never replayed into another test's cluster.
        environment["Conversations__Audit__JournalPath"] = _journals;
        return environment;
    }

    public sealed record Silo(string Name, int Port, ServiceProcess Process);
}
