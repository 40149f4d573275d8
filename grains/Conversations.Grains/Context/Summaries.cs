using System.Text;
using Conversations.Context;

namespace Conversations.Grains.Context;

/// <summary>An item as one line of a plain-text transcript (a summarizer's input, a recalled line).</summary>
public static class Transcript
{
    public static string Line(ConversationItem item) =>
        item.Call is { } call ? $"{item.Role} called {call.Name}({call.Arguments})"
        : item.CallId is not null ? $"tool output: {item.Text}"
        : $"{item.Role}: {item.Text}";
}

/// <summary>The summarizer's prompt: the earlier summary merged with the items that left the window.</summary>
public static class Summaries
{
    public const string Instructions =
        "You maintain the running summary of a conversation between a user and an assistant. Merge the earlier summary with the new "
        + "messages into one concise summary. Keep every name, number, date, preference, decision and open question; drop small talk. "
        + "Write plain sentences, no preamble.";

    public static IReadOnlyList<NewItem> Prompt(ConversationSummary? earlier, IEnumerable<ConversationItem> items)
    {
        var text = new StringBuilder();
        if (earlier is not null)
        {
            text.Append("Earlier summary:\n").Append(earlier.Text).Append("\n\n");
        }

        text.Append("New messages:");
        foreach (var item in items)
        {
            text.Append('\n').Append(Transcript.Line(item));
        }

        return [new NewItem(Roles.System, Instructions), new NewItem(Roles.User, text.ToString())];
    }
}
