using System.Globalization;
using System.Text;

namespace Conversations.Bench;

/// <summary>
/// What the metrics of the Prometheus scrape (on by default) cost a model call: two gateway processes
/// alike but for <c>Conversations:Telemetry:Prometheus</c>, measured in alternating rounds at 64
/// connections against the same upstream, so drift lands on both alike.
/// </summary>
public static class TelemetryBench
{
    public static async Task<string> Run(string root, TimeSpan duration, int rounds)
    {
        await Wrk.EnsureInstalled();
        var upstreamPort = BenchServers.FreePort();
        await using var upstream = await BenchServers.StartUpstream(upstreamPort, tokensPerSecond: 0);
        var (onPort, offPort) = (BenchServers.FreePort(), BenchServers.FreePort());
        var (onData, offData) = (Directory.CreateTempSubdirectory("conversations-bench-"), Directory.CreateTempSubdirectory("conversations-bench-"));
        using var on = await GatewayBench.StartGateway(root, onPort, onData, upstreamPort, upstreamPort, extra: Prometheus(true));
        using var off = await GatewayBench.StartGateway(root, offPort, offData, upstreamPort, upstreamPort, extra: Prometheus(false));
        try
        {
            const string chat = """{"model":"bench","max_tokens":64,"messages":[{"role":"user","content":"What does a gateway add to a model call?"}]}""";
            var (onUrl, offUrl) = (new Uri($"http://127.0.0.1:{onPort}/v1/chat/completions"), new Uri($"http://127.0.0.1:{offPort}/v1/chat/completions"));
            await Wrk.Post("warm-up", onUrl, chat, GatewayBench.Key, 8, TimeSpan.FromSeconds(5));
            await Wrk.Post("warm-up", offUrl, chat, GatewayBench.Key, 8, TimeSpan.FromSeconds(5));
            var ratios = new List<double>();
            var report = new StringBuilder("# Telemetry: the Prometheus scrape's metrics on against off\n\n")
                .AppendLine("Stateless chat through the gateway to the simulated upstream over HTTP, 64 connections (wrk), alternating rounds. This machine is noisy: read the ratios, not the figures.\n")
                .AppendLine("| round | off req/s | on req/s | on / off | off p99 ms | on p99 ms |")
                .AppendLine("|---:|---:|---:|---:|---:|---:|");
            for (var round = 1; round <= rounds; round++)
            {
                var offResult = await Wrk.Post("off", offUrl, chat, GatewayBench.Key, 64, duration);
                var onResult = await Wrk.Post("on", onUrl, chat, GatewayBench.Key, 64, duration);
                var ratio = onResult.OpsPerSecond / offResult.OpsPerSecond;
                ratios.Add(ratio);
                report.AppendLine(CultureInfo.InvariantCulture, $"| {round} | {offResult.OpsPerSecond:N0} | {onResult.OpsPerSecond:N0} | {ratio:F2} | {offResult.P99Ms:F1} | {onResult.P99Ms:F1} |");
            }

            ratios.Sort();
            return report.AppendLine(CultureInfo.InvariantCulture, $"\nMedian throughput on / off: {ratios[ratios.Count / 2]:F2}.").ToString();
        }
        finally
        {
            foreach (var gateway in new[] { on, off })
            {
                gateway.Kill();
                await gateway.WaitForExitAsync();
            }

            onData.Delete(recursive: true);
            offData.Delete(recursive: true);
        }
    }

    private static Dictionary<string, string> Prometheus(bool on) => new() { ["Conversations__Telemetry__Prometheus"] = on ? "true" : "false" };
}
