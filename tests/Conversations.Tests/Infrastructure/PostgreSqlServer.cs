using System.Diagnostics;
using System.Globalization;

namespace Conversations.Tests.Infrastructure;

/// <summary>
/// A throwaway PostgreSQL server for one test (or one collection, <see cref="DrillBackends"/>): Debian's <c>postgresql</c> binaries (the test command installs them,
/// tests/install-postgresql.sh), a cluster made by <c>initdb</c> in a temporary directory, started by <c>pg_ctl</c> on
/// a free loopback port, with the schema of deploy/postgresql applied by <c>psql</c> as docs/operations.md says. PostgreSQL
/// refuses to run as root, so under root (sessions and CI) the server runs as the <c>postgres</c> user. Disposing stops
/// it and deletes the directory. <see cref="StartOrSkipAsync"/> skips the test, naming what to install, when no
/// binaries are found; it never lets a test pass without a server.
/// </summary>
public sealed class PostgreSqlServer : IAsyncDisposable
{
    public const string Database = "conversations";
    private const string BinariesVariable = "CONVERSATIONS_POSTGRES_BIN";

    private readonly string _bin;
    private readonly string _directory;
    private readonly bool _asPostgresUser;

    private PostgreSqlServer(string bin, string directory, bool asPostgresUser)
    {
        _bin = bin;
        _directory = directory;
        _asPostgresUser = asPostgresUser;
    }

    public int Port { get; } = FreePorts.Next();

    /// <summary>
    /// Without pooling: the test's silos share one process, and so would share Npgsql's pool, which silos in their own
    /// processes never do (suspected of the one failure seen: a restarted silo's membership read timed out in a full run).
    /// A connection may take 60 s rather than Npgsql's 15: in CI a silo starting in the suite's first minute, with every
    /// fixture starting its servers on the same two cores, timed out opening one.
    /// </summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port.ToString(CultureInfo.InvariantCulture)};Database={Database};Username=postgres;Pooling=false;Timeout=60";

    public static async Task<PostgreSqlServer> StartOrSkipAsync()
    {
        var bin = FindBinaries();
        if (bin is null)
        {
            Assert.Skip($"PostgreSQL's binaries were not found (no initdb under /usr/lib/postgresql/*/bin or ${BinariesVariable}). " +
                "Install them with 'apt-get install -y postgresql' (the README's test command does, through npm ci, where it runs as root with apt) and run the test again.");
        }

        var asPostgresUser = Environment.UserName == "root";
        var directory = Directory.CreateTempSubdirectory("postgres-").FullName;
        var server = new PostgreSqlServer(bin!, directory, asPostgresUser);
        try
        {
            if (asPostgresUser)
            {
                await Run("chown", ["postgres", directory]);
            }

            await server.Server("initdb", "-D", Path.Combine(directory, "data"), "-A", "trust", "-U", "postgres", "--no-sync");
            await server.StartAgainAsync();
            await server.Psql("postgres", "-c", $"CREATE DATABASE {Database}");
            foreach (var script in Directory.GetFiles(Path.Combine(Repository.Root, "deploy", "postgresql"), "*.sql").Order(StringComparer.Ordinal))
            {
                await server.Psql(Database, "-q", "-f", script);
            }

            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the server (again, after <see cref="StopAsync"/>, with its data) and waits until it accepts connections.</summary>
    public Task StartAgainAsync() =>
        Server("pg_ctl", "-D", Path.Combine(_directory, "data"), "-l", Path.Combine(_directory, "log"), "-w",
            "-o", $"-p {Port.ToString(CultureInfo.InvariantCulture)} -k {_directory} -c listen_addresses=127.0.0.1 -c fsync=off", "start");

    /// <summary>Stops the server as an operator would (<c>pg_ctl stop -m fast</c>: open sessions are ended), keeping its data.</summary>
    public Task StopAsync() => Stop("fast");

    public async ValueTask DisposeAsync()
    {
        await Stop("immediate");
        Directory.Delete(_directory, recursive: true);
    }

    private async Task Stop(string mode)
    {
        if (File.Exists(Path.Combine(_directory, "data", "postmaster.pid")))
        {
            await Server("pg_ctl", "-D", Path.Combine(_directory, "data"), "-m", mode, "-w", "stop");
        }
    }

    /// <summary>Runs a query with psql and returns its unaligned output (what a test asserts on, read straight from the database).</summary>
    public Task<string> Query(string sql) => Psql(Database, "-A", "-t", "-c", sql);

    private Task<string> Psql(string database, params string[] arguments) =>
        Run(Path.Combine(_bin, "psql"), ["-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", .. arguments]);

    private Task<string> Server(string tool, params string[] arguments) => _asPostgresUser
        ? Run("runuser", ["-u", "postgres", "--", Path.Combine(_bin, tool), .. arguments])
        : Run(Path.Combine(_bin, tool), arguments);

    private static string? FindBinaries()
    {
        if (Environment.GetEnvironmentVariable(BinariesVariable) is { Length: > 0 } given)
        {
            return given;
        }

        return Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(version => Path.Combine(version, "bin"))
                .Where(bin => File.Exists(Path.Combine(bin, "initdb")))
                .OrderByDescending(bin => int.TryParse(Path.GetFileName(Path.GetDirectoryName(bin)), out var major) ? major : 0)
                .FirstOrDefault()
            : null;
    }

    private static async Task<string> Run(string file, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2)); // a hang guard, not a speed assertion
        await process.WaitForExitAsync(timeout.Token);
        return process.ExitCode == 0
            ? await output
            : throw new InvalidOperationException($"{Path.GetFileName(file)} {string.Join(' ', start.ArgumentList)} exited with {process.ExitCode}: {await error}{await output}");
    }
}
