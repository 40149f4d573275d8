using System.Globalization;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Hosting;

/// <summary>The embedded default (one process, SQLite state) keeps conversations across a crash and restart.</summary>
public sealed class EmbeddedDurabilityTests
{
    private const string Key = "sk-durability-test";

    [Fact]
    public async Task Acknowledged_turns_survive_a_kill_and_restart_of_the_process()
    {
        var data = Directory.CreateTempSubdirectory("conversations-durability-");
        var silo = Repository.ProjectOutput("silo/Conversations.Silo", "Conversations.Silo");
        try
        {
            List<(string Role, string Text)> before;
            string conversationId;
            await using (var first = await ServiceProcess.StartAsync(silo, Environment(data.FullName)))
            {
                using var http = Client(first);
                var conversation = await HttpConversation.CreateAsync(http);
                await conversation.TurnAsync("My name is Ada.");
                await conversation.TurnAsync("What is my name?");
                before = await conversation.ItemsAsync();
                conversationId = conversation.Id;
                await first.KillAsync(); // SIGKILL: no graceful shutdown, no flush on exit
            }

            await using var second = await ServiceProcess.StartAsync(silo, Environment(data.FullName));
            using var again = Client(second);
            var restored = new HttpConversation(again, conversationId);

            Assert.Equal(4, before.Count);
            Assert.Equal(before, await restored.ItemsAsync());
            Assert.Contains("turn 3, 5 messages", await restored.TurnAsync("And now?"), StringComparison.Ordinal);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    private static Dictionary<string, string> Environment(string dataDirectory) => new()
    {
        ["CONVERSATIONS_API_KEY"] = Key,
        ["Conversations__Cluster__LocalStoragePath"] = Path.Combine(dataDirectory, "conversations.db"),
        ["Conversations__Cluster__SiloPort"] = FreePorts.Next().ToString(CultureInfo.InvariantCulture),
        ["Conversations__Cluster__GatewayPort"] = FreePorts.Next().ToString(CultureInfo.InvariantCulture),
    };

    private static HttpClient Client(ServiceProcess service)
    {
        var http = new HttpClient { BaseAddress = service.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new("Bearer", Key);
        return http;
    }
}
