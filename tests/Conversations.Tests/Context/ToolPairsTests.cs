using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Context;

/// <summary>Which calls and outputs a new input may send after a conversation's history.</summary>
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class ToolPairsTests
{
    private static readonly ConversationItem Question = Message(Roles.User, "weather and time?");

    [Fact]
    public void Outputs_answer_the_calls_awaiting_them_in_any_order_and_some_may_come_a_turn_later_only_while_nothing_else_came()
    {
        ConversationItem[] history = [Question, Call("a"), Call("b")];

        Assert.Null(ToolPairs.Check(history, [Output("b"), Output("a")]));
        Assert.Null(ToolPairs.Check(history, [Output("a")]));
        Assert.Null(ToolPairs.Check([.. history, Output("a")], [Output("b")]));
        Assert.Contains("no longer awaits", ToolPairs.Check([.. history, Output("a"), Message(Roles.Assistant, "22 degrees")], [Output("b")])!.Message, StringComparison.Ordinal);
        Assert.Contains("already has an output", ToolPairs.Check([.. history, Output("a")], [Output("a")])!.Message, StringComparison.Ordinal);
        Assert.Contains("No tool call found", ToolPairs.Check(history, [Output("z")])!.Message, StringComparison.Ordinal);
        Assert.Null(ToolPairs.Check([Question], [Call("c"), Output("c")])); // the manual pattern: the client sends a call and its output
        Assert.Equal(["b"], ToolPairs.LeftWaiting(history, [Output("a")]));
    }

    [Fact]
    public void A_call_a_message_overtook_is_unpaired_and_so_is_its_late_output()
    {
        ConversationItem[] messages = [Question, Call("a"), Call("b"), Output("a"), Message(Roles.Assistant, "22 degrees"), Output("b")];

        var unpaired = ToolPairs.Unpaired(messages);

        Assert.Equal(new[] { messages[2].Id, messages[5].Id }.Order(), unpaired.Order());
    }

    private static ConversationItem Message(string role, string text) => new(Ids.New(Ids.Message), role, text, 1, DateTimeOffset.UnixEpoch);

    private static ConversationItem Call(string id) =>
        new(Ids.New(Ids.FunctionCall), Roles.Assistant, string.Empty, 1, DateTimeOffset.UnixEpoch, null, new FunctionCall(id, "lookup", "{}"));

    private static ConversationItem Output(string id) =>
        new(Ids.New(Ids.FunctionCallOutput), Roles.Tool, "result " + id, 1, DateTimeOffset.UnixEpoch, null, null, id);
}
