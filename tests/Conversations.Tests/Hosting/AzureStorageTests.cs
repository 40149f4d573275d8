using Conversations.Grains;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Hosting;

/// <summary>The production providers (Azure Table membership, Azure Blob grain state) against a real Azurite.</summary>
public sealed class AzureStorageTests
{
    [Fact]
    public async Task Conversations_persist_in_azure_blob_storage_with_their_item_pages_across_a_restart_and_a_delete_clears_the_pages()
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
        ItemPageRef page;
        await using (var first = new GatewayFactory(Settings()))
        {
            using var http = first.Http();
            var conversation = await HttpConversation.CreateAsync(http);
            await conversation.TurnAsync("stored in blobs");
            await Grains.ConversationStoreTests.AddItems(http, conversation.Id, Enumerable.Range(0, ConversationStore.PageSize).Select(i => $"paged {i}"));
            var stored = await Grains.ConversationStoreTests.Stored(first, conversation.Id);
            Assert.Equal([ConversationStore.PageSize], stored.Head.Pages.Select(page => page.Count)); // the first page, a blob of its own
            Assert.Equal(ConversationStore.PageSize, stored.Pages.Single()?.Count);
            Assert.Equal(2, stored.Head.Items.Count);
            page = stored.Head.Pages[0];
            before = await conversation.ItemsAsync();
            id = conversation.Id;
        }

        await using var second = new GatewayFactory(Settings());
        var restored = new HttpConversation(second.Http(), id);

        Assert.Equal(2 + ConversationStore.PageSize, before.Count);
        Assert.Equal(before, await restored.ItemsAsync());

        Assert.Equal(2, (await Blobs(azurite, id)).Count); // the head and its page, each a blob naming the conversation
        using var deleted = await second.Http().DeleteAsync(new Uri($"/v1/conversations/{id}", UriKind.Relative));
        Assert.Equal(System.Net.HttpStatusCode.OK, deleted.StatusCode);
        Assert.Null(await Grains.ConversationStoreTests.PageRecord(second, id, page.Key));
        Assert.Empty(await Blobs(azurite, id)); // deleted, not emptied: no blob still names it
    }

    private static async Task<List<string>> Blobs(AzuriteProcess azurite, string conversationId)
    {
        var names = new List<string>();
        await foreach (var blob in new Azure.Storage.Blobs.BlobContainerClient(azurite.ConnectionString, "conversations").GetBlobsAsync())
        {
            names.Add(blob.Name);
        }

        return names.FindAll(name => name.Contains(conversationId, StringComparison.Ordinal));
    }
}
