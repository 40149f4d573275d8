using Conversations.Tests.Infrastructure;
using Conversations.Providers;
using Microsoft.Extensions.AI;

namespace Conversations.Tests.Providers;

/// <summary>How items become chat messages for every provider.</summary>
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class ChatMessagesTests
{
    [Fact]
    public void Calls_join_one_assistant_message_and_outputs_follow_their_calls_in_call_order()
    {
        NewItem[] items =
        [
            new(Roles.User, "weather and time?"),
            new(Roles.Assistant, "Let me look."),
            NewItem.CallOf(new FunctionCall("a", "weather", """{"city":"Lisbon"}""")),
            NewItem.CallOf(new FunctionCall("b", "time", "{}")),
            NewItem.OutputOf("b", "noon"),
            NewItem.OutputOf("a", "22 degrees"),
            new(Roles.Assistant, "22 degrees at noon."),
        ];

        var messages = ChatMessages.From(items);

        Assert.Equal([ChatRole.User, ChatRole.Assistant, ChatRole.Tool, ChatRole.Tool, ChatRole.Assistant], messages.Select(m => m.Role));
        Assert.Equal(["a", "b"], messages[1].Contents.OfType<FunctionCallContent>().Select(c => c.CallId));
        Assert.Equal("Let me look.", messages[1].Text);
        Assert.Equal(["a", "b"], messages[2..4].Select(m => m.Contents.OfType<FunctionResultContent>().Single().CallId));
        Assert.Equal("Lisbon", messages[1].Contents.OfType<FunctionCallContent>().First().Arguments!["city"]!.ToString());
    }

    [Fact]
    public void An_output_after_other_messages_is_not_moved_behind_them()
    {
        NewItem[] items =
        [
            new(Roles.User, "weather?"),
            NewItem.CallOf(new FunctionCall("a", "weather", "{}")),
            new(Roles.User, "never mind"),
            NewItem.OutputOf("a", "22 degrees"),
        ];

        var messages = ChatMessages.From(items);

        Assert.Equal([ChatRole.User, ChatRole.Assistant, ChatRole.User, ChatRole.Tool], messages.Select(m => m.Role));
    }
}
