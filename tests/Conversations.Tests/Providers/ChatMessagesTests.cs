using Conversations.Providers;
using Microsoft.Extensions.AI;

namespace Conversations.Tests.Providers;

/// <summary>How items become chat messages for every provider.</summary>
public sealed class ChatMessagesTests
{
    [Fact]
    public void Calls_join_one_assistant_message_and_each_output_follows_its_calls_even_when_sent_later()
    {
        NewItem[] items =
        [
            new(Roles.User, "weather and time?"),
            new(Roles.Assistant, "Let me look."),
            NewItem.CallOf(new FunctionCall("a", "weather", """{"city":"Lisbon"}""")),
            NewItem.CallOf(new FunctionCall("b", "time", "{}")),
            NewItem.OutputOf("a", "22 degrees"),
            new(Roles.Assistant, "It is 22 degrees; the time is coming."),
            new(Roles.User, "and the time?"),
            NewItem.OutputOf("b", "noon"),
        ];

        var messages = ChatMessages.From(items);

        Assert.Equal([ChatRole.User, ChatRole.Assistant, ChatRole.Tool, ChatRole.Tool, ChatRole.Assistant, ChatRole.User], messages.Select(m => m.Role));
        Assert.Equal(["a", "b"], messages[1].Contents.OfType<FunctionCallContent>().Select(c => c.CallId));
        Assert.Equal("Let me look.", messages[1].Text);
        Assert.Equal(["a", "b"], messages[2..4].Select(m => m.Contents.OfType<FunctionResultContent>().Single().CallId));
        Assert.Equal("Lisbon", messages[1].Contents.OfType<FunctionCallContent>().First().Arguments!["city"]!.ToString());
    }
}
