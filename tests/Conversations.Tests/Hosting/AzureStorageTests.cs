using Conversations.Grains;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Hosting;

/// <summary>The production providers (Azure Table membership, Azure Blob grain state) against a real Azurite.</summary>
public sealed class AzureStorageTests
{
    [Fact]
    public async Task Conversations_persist_in_azure_blob_storage_across_a_restart_of_the_service_with_their_item_pages()
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        var serviceId = "svc-" + Guid.NewGuid().ToString("N")[..12];
        Dictionary<string, string?> Settings() => new()
        {
            ["Conversations:Cluster:Clustering"] = "AzureTable",
            ["Conversations:Cluster:Storage"] = "AzureBlob",
            ["Conversations:Cluster:AzureStorageConnectionString"] = azurite.ConnectionString,
            ["Conversations:Cluster:ServiceId"] = serviceId,
        };

        List<(string Role, string Text)> before;
        string id;
        await using (var first = new GatewayFactory(Settings()))
        {
            using var http = first.Http();
            var conversation = await HttpConversation.CreateAsync(http);
            await conversation.TurnAsync("stored in blobs");
            foreach (var batch in Enumerable.Range(0, ConversationStore.PageSize).Chunk(20)) // the first page is sealed into a blob of its own
            {
                using var added = await http.PostAsync($"/v1/conversations/{conversation.Id}/items", Api.ChatCompletionsTests.Json(
                    System.Text.Json.JsonSerializer.Serialize(new { items = batch.Select(i => new { role = "user", content = $"paged {i}" }) })));
                Assert.Equal(System.Net.HttpStatusCode.OK, added.StatusCode);
            }

            before = await conversation.ItemsAsync();
            id = conversation.Id;
        }

        await using var second = new GatewayFactory(Settings());
        var restored = new HttpConversation(second.Http(), id);

        Assert.Equal(2 + ConversationStore.PageSize, before.Count);
        Assert.Equal(before, await restored.ItemsAsync());
    }
}
