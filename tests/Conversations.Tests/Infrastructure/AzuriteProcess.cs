using System.Diagnostics;
using System.Net.Sockets;

namespace Conversations.Tests.Infrastructure;

/// <summary>
/// A real Azurite (Azure Storage emulator, from npm) on free loopback ports, started and stopped by
/// the test that owns it. The README's test command runs <c>npm ci</c> to install it.
/// </summary>
public sealed class AzuriteProcess : IAsyncDisposable
{
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private readonly string _location = Directory.CreateTempSubdirectory("azurite-").FullName;
    private Process? _process;

    public int BlobPort { get; } = FreePorts.Next();

    public int QueuePort { get; } = FreePorts.Next();

    public int TablePort { get; } = FreePorts.Next();

    public string ConnectionString =>
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        + $"AccountKey={AccountKey};"
        + $"BlobEndpoint=http://127.0.0.1:{BlobPort}/devstoreaccount1;"
        + $"QueueEndpoint=http://127.0.0.1:{QueuePort}/devstoreaccount1;"
        + $"TableEndpoint=http://127.0.0.1:{TablePort}/devstoreaccount1;";

    public static async Task<AzuriteProcess> StartAsync()
    {
        var azurite = new AzuriteProcess();
        try
        {
            await azurite.StartAgainAsync();
        }
        catch
        {
            await azurite.DisposeAsync(); // an emulator that never became ready would otherwise outlive the test run
            throw;
        }

        return azurite;
    }

    /// <summary>Starts (or restarts, keeping its data) the emulator and waits until every service accepts connections.</summary>
    public async Task StartAgainAsync()
    {
        var script = Path.Combine(Repository.Root, "node_modules", "azurite", "dist", "src", "azurite.js");
        if (!File.Exists(script))
        {
            throw new FileNotFoundException("Azurite is not installed: run 'npm ci' at the repository root (the README's test command does).", script);
        }

        var start = new ProcessStartInfo("node")
        {
            ArgumentList =
            {
                script, "--disableTelemetry", "--silent", "--skipApiVersionCheck", "--location", _location,
                "--blobHost", "127.0.0.1", "--blobPort", BlobPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--queueHost", "127.0.0.1", "--queuePort", QueuePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--tableHost", "127.0.0.1", "--tablePort", TablePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _process = Process.Start(start) ?? throw new InvalidOperationException("node did not start.");
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await Readiness.WaitUntil(() => Task.FromResult(Accepts(BlobPort) && Accepts(TablePort) && Accepts(QueuePort)), TimeSpan.FromSeconds(30), "Azurite");
    }

    /// <summary>
    /// Stops the emulator the way an operator would (SIGINT), so it saves its data for
    /// <see cref="StartAgainAsync"/>; Azurite keeps metadata in memory and loses recent writes if killed.
    /// </summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            using (var interrupt = Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await interrupt.WaitForExitAsync();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }

        _process?.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_location, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static bool Accepts(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
