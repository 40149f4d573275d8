using System.Collections.Concurrent;
using System.Diagnostics;

namespace Conversations.Tests.Infrastructure;

/// <summary>
/// One of this project's hosts (silo or API) run as a real child process from its build output, so
/// tests can restart it or kill it by PID. Its output is kept for failure messages.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private ServiceProcess(string assemblyPath, int httpPort, IReadOnlyDictionary<string, string> environment)
    {
        HttpPort = httpPort;
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { assemblyPath },
            WorkingDirectory = Path.GetDirectoryName(assemblyPath)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{httpPort}";
        start.Environment["DOTNET_ENVIRONMENT"] = "Development";
        start.Environment["Logging__Console__FormatterName"] = "simple";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException($"{assemblyPath} did not start.");
        _process.OutputDataReceived += (_, line) => Keep(line.Data);
        _process.ErrorDataReceived += (_, line) => Keep(line.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int HttpPort { get; }

    public int Id => _process.Id;

    public Uri BaseAddress => new($"http://127.0.0.1:{HttpPort}");

    public string Output => string.Join(Environment.NewLine, _output);

    /// <summary>Starts the host and waits until <c>GET /health</c> answers 200.</summary>
    public static async Task<ServiceProcess> StartAsync(string assemblyPath, IReadOnlyDictionary<string, string> environment, TimeSpan? timeout = null)
    {
        var service = new ServiceProcess(assemblyPath, FreePorts.Next(), environment);
        using var http = new HttpClient { BaseAddress = service.BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            await Readiness.WaitUntil(
                async () => !service._process.HasExited && (await http.GetAsync("/health")).IsSuccessStatusCode,
                timeout ?? TimeSpan.FromSeconds(60),
                Path.GetFileName(assemblyPath),
                () => service.Output);
        }
        catch
        {
            await service.DisposeAsync(); // a host that never became ready would otherwise outlive the test run
            throw;
        }

        return service;
    }

    /// <summary>Ends the process at once, as a crash would (SIGKILL).</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
    }

    /// <summary>Stops the process the way an orchestrator would (SIGTERM), letting it shut down cleanly.</summary>
    public async Task StopAsync()
    {
        if (!_process.HasExited)
        {
            using var terminate = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await terminate.WaitForExitAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                await KillAsync();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > 400 && _output.TryDequeue(out _))
        {
        }
    }
}
