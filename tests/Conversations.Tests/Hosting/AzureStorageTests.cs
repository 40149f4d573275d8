using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Hosting;

/// <summary>The production providers (Azure Table membership, Azure Blob grain state) against a real Azurite.</summary>
public sealed class AzureStorageTests
{
    [Fact]
    public async Task Conversations_persist_in_azure_blob_storage_across_a_restart_of_the_service()
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
            var conversation = await HttpConversation.CreateAsync(first.Http());
            await conversation.TurnAsync("stored in blobs");
            before = await conversation.ItemsAsync();
            id = conversation.Id;
        }

        await using var second = new GatewayFactory(Settings());
        var restored = new HttpConversation(second.Http(), id);

        Assert.Equal(2, before.Count);
        Assert.Equal(before, await restored.ItemsAsync());
    }
}
