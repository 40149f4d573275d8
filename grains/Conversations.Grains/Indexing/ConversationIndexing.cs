using Conversations.Indexing;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains.Indexing;

/// <summary>
/// Keeps the conversation index in step with the conversations (decision 0069): after a conversation's create, metadata
/// update or delete succeeds, on the silo that ran it, its index shard is told. No other call of a conversation (a turn,
/// a read) touches the index. A failed index write is logged and does not fail the change it follows: the index may then
/// miss a conversation, or list one that is gone (opening it answers 404).
/// </summary>
public sealed partial class ConversationIndexing(IGrainFactory grains, ILogger<ConversationIndexing> logger) : IIncomingGrainCallFilter
{
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        await context.Invoke();
        if (context.InterfaceMethod.DeclaringType != typeof(IConversationGrain)
            || context.InterfaceMethod.Name is not (nameof(IConversationGrain.Create) or nameof(IConversationGrain.Update) or nameof(IConversationGrain.Delete))
            || context.Result is not Result<ConversationInfo> { IsSuccess: true, Value: { } info })
        {
            return;
        }

        var (tenant, id) = GrainKeys.Parse(context.TargetId.Key.ToString()!);
        var shard = ConversationIndex.ShardOf(grains, tenant, id);
        try
        {
            var failed = context.InterfaceMethod.Name == nameof(IConversationGrain.Delete)
                ? await shard.Remove(id)
                : await shard.Put(new ConversationEntry(id, info.CreatedAt, info.Metadata));
            if (failed is not null)
            {
                LogIndexFailed(logger, null, tenant, id, failed.Message);
            }
        }
        catch (Exception exception)
        {
            LogIndexFailed(logger, exception, tenant, id, exception.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The conversation index of tenant {Tenant} was not updated for conversation {ConversationId}: {Reason}")]
    private static partial void LogIndexFailed(ILogger logger, Exception? exception, string tenant, string conversationId, string reason);
}
