using System.Diagnostics;

namespace Conversations.Bench;

/// <summary>Runs an operation from many concurrent callers for a fixed time and reports throughput and latency.</summary>
public static class Measurement
{
    public static Task<Result> Run(string name, int concurrency, TimeSpan duration, Func<Task> operation) =>
        Run(name, concurrency, duration, _ => operation());

    /// <summary>As above; the operation is told which caller (0 to concurrency - 1) runs it.</summary>
    public static async Task<Result> Run(string name, int concurrency, TimeSpan duration, Func<int, Task> operation)
    {
        // Warm up: activations, JIT, connection pools.
        await Drive(concurrency, TimeSpan.FromSeconds(1), operation);
        var (count, latencies, elapsed) = await Drive(concurrency, duration, operation);
        latencies.Sort();
        return new Result(name, concurrency, count / elapsed.TotalSeconds, Percentile(latencies, 0.50), Percentile(latencies, 0.99));
    }

    private static async Task<(long Count, List<double> Latencies, TimeSpan Elapsed)> Drive(int concurrency, TimeSpan duration, Func<int, Task> operation)
    {
        var stop = Stopwatch.StartNew();
        var perCaller = await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async caller =>
        {
            var latencies = new List<double>();
            while (stop.Elapsed < duration)
            {
                var started = Stopwatch.GetTimestamp();
                await operation(caller);
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }

            return latencies;
        }));
        var elapsed = stop.Elapsed;
        var all = perCaller.SelectMany(l => l).ToList();
        return (all.Count, all, elapsed);
    }

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    /// <summary>The middle value (the mean of the two middle ones for an even count): what a table of alternating rounds reports.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    public sealed record Result(string Scenario, int Concurrency, double OpsPerSecond, double P50Ms, double P99Ms);
}
