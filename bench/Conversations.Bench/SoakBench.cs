using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Conversations.Bench;

/// <summary>
/// A steady mixed load for a given time against the service as its own process: stateless chat, streamed chat, turns over a
/// few hundred windowed conversations, embeddings, and a small share of injected upstream faults on a route of their own.
/// The process's resident memory and thread count are sampled every two seconds, its GC pauses read over EventPipe
/// (<see cref="GcPauses"/>). With <c>--base DIR</c> another build's silo runs beside this one under the same load at the
/// same time, so the machine's drift lands on both. Then memory per active conversation at 1,000 items, each build alone.
/// </summary>
public static class SoakBench
{
    private const int Callers = 8, Conversations = 300, LongItems = 1_000, LongConversations = 40, WarmUpConversations = 4;
    private static readonly TimeSpan Every = TimeSpan.FromSeconds(2);
    private static readonly string[] Kinds = ["turn", "stateless", "streamed", "embeddings", "fault"];

    public static async Task<(string Markdown, JsonObject Json, string Svg)> Run(string root, string? baseBuild, TimeSpan duration)
    {
        var (upstreamPort, streamingPort) = (BenchServers.FreePort(), BenchServers.FreePort());
        await using var upstream = await BenchServers.StartUpstream(upstreamPort, tokensPerSecond: 0);
        await using var streaming = await BenchServers.StartUpstream(streamingPort, tokensPerSecond: 1_000);
        var builds = new List<(string Name, string? Folder)> { ("this build", null) };
        if (baseBuild is not null)
        {
            builds.Insert(0, ("base", baseBuild));
        }

        var soaks = new List<Soak>();
        try
        {
            foreach (var (name, folder) in builds)
            {
                var (port, data) = (BenchServers.FreePort(), Directory.CreateTempSubdirectory("conversations-soak-"));
                var process = await GatewayBench.StartGateway(root, port, data, upstreamPort, streamingPort, extra: FaultRoute(upstreamPort), build: folder);
                var http = GatewayBench.Client(new Uri($"http://127.0.0.1:{port}"));
                var conversations = await Task.WhenAll(Enumerable.Range(0, Conversations).Select(_ => Create(http)));
                soaks.Add(new Soak(name, process, data, http, conversations, GcPauses.Start(process.Id)));
                Console.WriteLine($"{name}: pid {process.Id}, port {port}");
            }

            var warmUp = TimeSpan.FromSeconds(Math.Min(30, duration.TotalSeconds / 4));
            var started = DateTime.UtcNow;
            using (var stop = new CancellationTokenSource(duration))
            {
                var sampling = Task.WhenAll(soaks.Select(soak => Sample(soak, started, stop.Token)));
                var atWarmUp = Task.Delay(warmUp).ContinueWith(_ => Task.WhenAll(soaks.Select(async soak => soak.Heap[0] = await GcPauses.HeapAfterFullGc(soak.Process.Id))), TaskScheduler.Default).Unwrap();
                await Task.WhenAll(soaks.Select(soak => Load(soak, stop.Token)));
                await sampling;
                await atWarmUp;
            }

            foreach (var soak in soaks)
            {
                soak.Heap[1] = await GcPauses.HeapAfterFullGc(soak.Process.Id);
            }

            var pauses = soaks.ToDictionary(soak => soak.Name, soak => soak.Gc.Since(started + warmUp));
            await Stop(soaks);
            var perConversation = new Dictionary<string, PerConversation>();
            foreach (var (name, folder) in builds)
            {
                perConversation[name] = await BytesPerLongConversation(root, folder, upstreamPort, streamingPort);
                Console.WriteLine($"{name}: {perConversation[name].Resident / 1024:N1} KiB resident, {perConversation[name].Heap / 1024:N1} KiB of managed heap per conversation of {LongItems:N0} items");
            }

            return SoakReport.Write(soaks, pauses, perConversation, duration, warmUp);
        }
        finally
        {
            await Stop(soaks);
        }
    }

    /// <summary>A route of its own for the injected faults: its circuit opens without touching the routes the rest of the load uses.</summary>
    private static Dictionary<string, string> FaultRoute(int upstreamPort) => new()
    {
        ["Conversations__Routes__bench-faults__Deployments__0__Name"] = "bench-faults-upstream",
        ["Conversations__Routes__bench-faults__Deployments__0__Provider"] = "OpenAICompatible",
        ["Conversations__Routes__bench-faults__Deployments__0__BaseUrl"] = $"http://127.0.0.1:{upstreamPort}/v1",
    };

    /// <summary>The load on one gateway: <see cref="Callers"/> callers, each request's kind from a fixed rotation (40% turns, 25% stateless, 15% streamed, 15% embeddings, 5% faults).</summary>
    private static Task Load(Soak soak, CancellationToken stop) => Task.WhenAll(Enumerable.Range(0, Callers).Select(async caller =>
    {
        for (var i = caller * 7; !stop.IsCancellationRequested; i++)
        {
            var slot = i % 20;
            var kind = slot < 8 ? "turn" : slot < 13 ? "stateless" : slot < 16 ? "streamed" : slot < 19 ? "embeddings" : "fault";
            var status = await Send(soak, kind, i); // never cancelled: a request cut by the end of the run is not a failure
            soak.Count(kind, status);
        }
    }));

    private static async Task<string> Send(Soak soak, string kind, int n)
    {
        try
        {
            var (path, json) = kind switch
            {
                "turn" => ("/v1/responses", $$"""{"model":"bench","max_output_tokens":64,"conversation":"{{soak.Conversations[Interlocked.Increment(ref soak.NextConversation) % Conversations]}}","input":"hello {{n}}"}"""),
                "stateless" => ("/v1/chat/completions", """{"model":"bench","max_tokens":64,"messages":[{"role":"user","content":"hello"}]}"""),
                "streamed" => ("/v1/chat/completions", """{"model":"bench-stream","stream":true,"messages":[{"role":"user","content":"[sim:tokens=20] stream"}]}"""),
                "embeddings" => ("/v1/embeddings", $$"""{"model":"bench","input":["first text {{n}}","second text"]}"""),
                _ => ("/v1/chat/completions", """{"model":"bench-faults","messages":[{"role":"user","content":"[sim:status=503] fail"}]}"""),
            };
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = Json(json) };
            using var response = await soak.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            var body = await response.Content.ReadAsStringAsync();
            var whole = kind != "streamed" || body.Contains("data: [DONE]", StringComparison.Ordinal);
            return ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture) + (whole ? "" : " cut");
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException or IOException)
        {
            return exception.GetType().Name;
        }
    }

    private static async Task Sample(Soak soak, DateTime started, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(Every);
        do
        {
            var (resident, threads) = BenchServers.Status(soak.Process);
            soak.Samples.Add(((DateTime.UtcNow - started).TotalSeconds, resident, threads));
        }
        while (await Wait(timer, stop));
    }

    private static async Task<bool> Wait(PeriodicTimer timer, CancellationToken stop)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stop);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>
    /// Resident memory added per active conversation of <see cref="LongItems"/> items (added 20 at a time, then one turn), on a
    /// gateway of its own with the runtime's default GC budget (as the gateway bench measures a short one); a warm-up batch first.
    /// Resident memory also counts garbage not yet collected (every append copies the item list), so the managed heap after a full GC is read too.
    /// </summary>
    private static async Task<PerConversation> BytesPerLongConversation(string root, string? build, int upstreamPort, int streamingPort)
    {
        var (port, data) = (BenchServers.FreePort(), Directory.CreateTempSubdirectory("conversations-soak-long-"));
        using var gateway = await GatewayBench.StartGateway(root, port, data, upstreamPort, streamingPort, gen0Budget: false, build: build);
        try
        {
            using var http = GatewayBench.Client(new Uri($"http://127.0.0.1:{port}"));
            await Long(http, WarmUpConversations);
            var (before, heapBefore) = (BenchServers.ResidentBytes(gateway), await GcPauses.HeapAfterFullGc(gateway.Id));
            await Long(http, LongConversations);
            var heapAfter = await GcPauses.HeapAfterFullGc(gateway.Id);
            return new((BenchServers.ResidentBytes(gateway) - before) / (double)LongConversations, (heapAfter - heapBefore) / (double)LongConversations);
        }
        finally
        {
            gateway.Kill();
            await gateway.WaitForExitAsync();
            data.Delete(recursive: true);
        }
    }

    private static async Task Long(HttpClient http, int count)
    {
        using var gate = new SemaphoreSlim(8);
        await Task.WhenAll(Enumerable.Range(0, count).Select(async _ =>
        {
            await gate.WaitAsync();
            try
            {
                var id = await GatewayBench.Prefilled(http, LongItems);
                await GatewayBench.Turn(http, id);
            }
            finally
            {
                gate.Release();
            }
        }));
    }

    private static async Task<string> Create(HttpClient http) =>
        (await (await http.PostAsync("/v1/conversations", Json("""{"context_policy":{"window_turns":10}}"""))).EnsureSuccessStatusCode()
            .Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

    private static async Task Stop(List<Soak> soaks)
    {
        foreach (var soak in soaks.Where(soak => !soak.Stopped))
        {
            soak.Stopped = true;
            await soak.Gc.DisposeAsync();
            soak.Process.Kill();
            await soak.Process.WaitForExitAsync();
            soak.Http.Dispose();
            soak.Data.Delete(recursive: true);
        }
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>Bytes added per conversation of 1,000 items: resident (with the garbage the GC has not returned) and managed heap after a full GC (live).</summary>
    internal sealed record PerConversation(double Resident, double Heap);

    /// <summary>One gateway under the soak and what was seen of it.</summary>
    internal sealed class Soak(string name, Process process, DirectoryInfo data, HttpClient http, string[] conversations, GcPauses gc)
    {
        public int NextConversation;

        public string Name => name;

        public Process Process => process;

        public DirectoryInfo Data => data;

        public HttpClient Http => http;

        public string[] Conversations => conversations;

        public GcPauses Gc => gc;

        public bool Stopped { get; set; }

        /// <summary>The managed heap after a full GC at the end of warm-up and at the end of the load (<see cref="GcPauses.HeapAfterFullGc"/>).</summary>
        public long[] Heap { get; } = new long[2];

        /// <summary>Seconds since the start, resident bytes, threads.</summary>
        public List<(double Seconds, long Resident, int Threads)> Samples { get; } = [];

        /// <summary>Answers by kind and outcome (an HTTP status, "200 cut" for a stream without its end, or the exception's type).</summary>
        public ConcurrentDictionary<(string Kind, string Outcome), int> Outcomes { get; } = new();

        public void Count(string kind, string outcome) => Outcomes.AddOrUpdate((kind, outcome), 1, (_, n) => n + 1);

        public static IReadOnlyList<string> KindsInOrder => Kinds;
    }
}
