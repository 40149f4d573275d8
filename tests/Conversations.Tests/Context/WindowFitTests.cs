using Conversations.Grains.Context;

namespace Conversations.Tests.Context;

/// <summary><see cref="WindowFit"/>: what <c>truncation: "auto"</c> leaves of a client's items, each item costing its text's length.</summary>
public sealed class WindowFitTests
{
    private static int Cost(NewItem item) => item.Text.Length + 1;

    [Fact]
    public void Items_that_fit_are_returned_as_they_are()
    {
        List<NewItem> items = [new(Roles.System, "rules"), new(Roles.User, "hello")];

        Assert.Same(items, WindowFit.Fit(items, 100, Cost, 0));
    }

    [Fact]
    public void The_oldest_items_leave_first_and_the_instructions_and_the_last_item_stay()
    {
        List<NewItem> items = [new(Roles.System, "rules"), new(Roles.User, "one.."), new(Roles.Assistant, "two.."), new(Roles.User, "three"), new(Roles.User, "last")];

        var fitted = WindowFit.Fit(items, 20, Cost, 0);

        Assert.Equal(["rules", "three", "last"], fitted.Select(item => item.Text));
    }

    [Fact]
    public void A_function_call_leaves_with_its_output_and_a_call_the_last_item_answers_stays()
    {
        var call = new FunctionCall("c1", "lookup", "{}");
        var answered = new FunctionCall("c2", "lookup", "{}");
        List<NewItem> items = [NewItem.CallOf(call), new(Roles.User, "between"), NewItem.OutputOf("c1", "result"), NewItem.CallOf(answered), NewItem.OutputOf("c2", "answer")];

        var dropped = WindowFit.Fit(items, 1, Cost, 0);

        Assert.DoesNotContain(dropped, item => item.CallId == "c1" || item.Call?.CallId == "c1"); // no output without its call
        Assert.Equal([answered.CallId, "c2"], dropped.Select(item => item.Call?.CallId ?? item.CallId));
    }

    [Fact]
    public void What_cannot_fit_even_alone_is_left_for_the_route_to_refuse()
    {
        List<NewItem> items = [new(Roles.User, "older"), new(Roles.User, "a question far larger than the budget")];

        Assert.Equal(["a question far larger than the budget"], WindowFit.Fit(items, 5, Cost, 0).Select(item => item.Text));
    }
}
