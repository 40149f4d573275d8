namespace Conversations.Tests.Infrastructure;

/// <summary>Paths inside the repository, found from the test assembly's location.</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    /// <summary>The build output of a project, built by the solution build before the tests run.</summary>
    public static string ProjectOutput(string projectDirectory, string assemblyName)
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
            ? "Release"
            : "Debug";
        var path = Path.Combine(Root, projectDirectory, "bin", configuration, "net10.0", assemblyName + ".dll");
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException($"Build {projectDirectory} first (the README's test command builds the solution).", path);
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Conversations.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Conversations.sln not found above the test assembly.");
    }
}
