namespace Conversations.Tests.Infrastructure;

/// <summary>
/// The trait that marks the fast part of the suite: pure logic and in-process clusters, no HTTP host, no process, no
/// Azurite. <c>dotnet test tests/Conversations.Tests --filter Category=Fast</c> runs it alone (tests/README.md).
/// </summary>
public static class TestSpeed
{
    public const string Category = "Category";
    public const string Fast = "Fast";
}
