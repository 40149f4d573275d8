using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Conversations.Bench;

/// <summary>Runs wrk (Debian's package) with a POST body and reads its throughput and latency percentiles.</summary>
public static partial class Wrk
{
    public static async Task EnsureInstalled()
    {
        if (await Run("wrk", ["--version"]) is not null)
        {
            return;
        }

        Console.WriteLine("wrk is missing; installing it with apt-get (Debian package 'wrk').");
        await Run("apt-get", ["update", "-qq"]);
        if (await Run("apt-get", ["install", "-y", "-qq", "wrk"]) is null || await Run("wrk", ["--version"]) is null)
        {
            throw new InvalidOperationException("wrk is required: install it with 'apt-get install wrk'.");
        }
    }

    public static Task<Measurement.Result> Post(string name, Uri url, string body, string? bearer, int connections, TimeSpan duration) =>
        Request(name, url, body, bearer, connections, duration);

    public static Task<Measurement.Result> Get(string name, Uri url, string? bearer, int connections, TimeSpan duration) =>
        Request(name, url, null, bearer, connections, duration);

    private static async Task<Measurement.Result> Request(string name, Uri url, string? body, string? bearer, int connections, TimeSpan duration)
    {
        var script = Path.Combine(Path.GetTempPath(), $"wrk-{Guid.NewGuid():N}.lua");
        var escaped = body?.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
        await File.WriteAllTextAsync(script, $"""
            wrk.method = "{(body is null ? "GET" : "POST")}"
            {(body is null ? string.Empty : $"wrk.body = \"{escaped}\"\nwrk.headers[\"Content-Type\"] = \"application/json\"")}
            {(bearer is null ? string.Empty : $"wrk.headers[\"Authorization\"] = \"Bearer {bearer}\"")}
            """);
        try
        {
            string[] Args(TimeSpan d) => ["-t", Math.Min(connections, 2).ToString(CultureInfo.InvariantCulture), "-c", connections.ToString(CultureInfo.InvariantCulture),
                "-d", $"{(int)d.TotalSeconds}s", "--latency", "-s", script, url.ToString()];
            await Run("wrk", Args(TimeSpan.FromSeconds(1))); // warm-up
            var output = await Run("wrk", Args(duration)) ?? throw new InvalidOperationException("wrk failed.");
            var errors = NonSuccess().Match(output) is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
            if (errors > 0)
            {
                throw new InvalidOperationException($"{name}: {errors} responses were not 2xx:\n{output}");
            }

            return new Measurement.Result(name, connections,
                double.Parse(RequestsPerSecond().Match(output).Groups[1].Value, CultureInfo.InvariantCulture),
                Latency(output, "50"), Latency(output, "99"));
        }
        finally
        {
            File.Delete(script);
        }
    }

    private static double Latency(string output, string percentile)
    {
        var match = Regex.Match(output, $@"^\s*{percentile}%\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
        var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return match.Groups[2].Value switch { "us" => value / 1000, "s" => value * 1000, _ => value };
    }

    private static async Task<string?> Run(string file, string[] args)
    {
        try
        {
            var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in args)
            {
                start.ArgumentList.Add(arg);
            }

            using var process = Process.Start(start)!;
            var output = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            return process.ExitCode == 0 || file == "wrk" && output.Length > 0 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex NonSuccess();
}
