using System.Text;
using System.Text.Json;
using Conversations.Context;

namespace Conversations.Grains.Context;

/// <summary>
/// The fact extractor's side of a conversation: which items it has not read yet, its prompt (the current facts and those
/// items), and the reading of its answer, one JSON object of changes in which a string sets a fact and null removes one.
/// </summary>
public static class FactExtraction
{
    /// <summary>The most an answer may take; one cut short is not read.</summary>
    public const int MaxAnswerTokens = 1_000;

    public const string Instructions =
        "You keep the facts worth remembering about a conversation between a user and an assistant: names, preferences, places, "
        + "dates, decisions, stable details about the user. Read the current facts and the new messages, and answer with one JSON "
        + "object of changes only: a key (snake_case, letters, digits and underscores, at most 64 characters) with a short string "
        + "value to add or correct a fact, or with null to remove a fact that no longer holds. Leave out what did not change; "
        + "answer {} when nothing changed.";

    private static readonly JsonSerializerOptions Compact = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// The items after <paramref name="throughItemId"/> (all of them when it is null or no longer there), oldest first, up to
    /// <paramref name="maxTokens"/> (at least one item, however long).
    /// </summary>
    public static List<ConversationItem> Unread(IReadOnlyList<ConversationItem> items, string? throughItemId, int maxTokens)
    {
        var start = 0;
        for (var i = 0; throughItemId is not null && i < items.Count; i++)
        {
            if (items[i].Id == throughItemId)
            {
                start = i + 1;
                break;
            }
        }

        var batch = new List<ConversationItem>();
        var tokens = 0;
        foreach (var item in items.Skip(start))
        {
            if (batch.Count > 0 && tokens + item.Tokens > maxTokens)
            {
                break;
            }

            batch.Add(item);
            tokens += item.Tokens;
        }

        return batch;
    }

    public static IReadOnlyList<NewItem> Prompt(IReadOnlyDictionary<string, string> facts, IEnumerable<ConversationItem> items)
    {
        var current = new SortedDictionary<string, string>(facts.ToDictionary(), StringComparer.Ordinal);
        var text = new StringBuilder("Current facts: ").Append(JsonSerializer.Serialize(current, Compact)).Append("\n\nNew messages:");
        foreach (var item in items.Where(item => item.Call is null && item.CallId is null))
        {
            // Function calls and their outputs are left out: a tool's output is untrusted text, and facts are sent as system messages.
            text.Append('\n').Append(Transcript.Line(item));
        }

        return [new NewItem(Roles.System, Instructions), new NewItem(Roles.User, text.ToString())];
    }

    /// <summary>
    /// The changes in an answer, read leniently: the text from its first <c>{</c> to its last <c>}</c> as a JSON object, keeping
    /// string and null values (anything else is dropped). Null when there is no such object.
    /// </summary>
    public static Dictionary<string, string?>? Parse(string answer)
    {
        var (first, last) = (answer.IndexOf('{', StringComparison.Ordinal), answer.LastIndexOf('}'));
        if (first < 0 || last < first)
        {
            return null;
        }

        try
        {
            using var json = JsonDocument.Parse(answer.AsMemory(first, last - first + 1));
            if (json.RootElement.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            var changes = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var property in json.RootElement.EnumerateObject())
            {
                if (property.Value.ValueKind is JsonValueKind.String or JsonValueKind.Null)
                {
                    changes[property.Name] = property.Value.GetString();
                }
            }

            return changes;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// The <paramref name="current"/> facts with the <paramref name="changes"/> that fit <see cref="Facts"/>' limits; a bad key
    /// or value, or a new key past the count, is dropped on its own. A key whose value differs from what the extractor was given
    /// (<paramref name="read"/>) was written meanwhile, by a client: that newer write stands.
    /// </summary>
    public static Dictionary<string, string> Merge(
        IReadOnlyDictionary<string, string> read, IReadOnlyDictionary<string, string> current, IReadOnlyDictionary<string, string?> changes)
    {
        var merged = new Dictionary<string, string>(current, StringComparer.Ordinal);
        foreach (var (key, value) in changes)
        {
            if (!Facts.IsValidKey(key) || read.GetValueOrDefault(key) != current.GetValueOrDefault(key))
            {
                continue;
            }

            if (value is null)
            {
                merged.Remove(key);
            }
            else if (value.Trim() is { Length: > 0 and <= Facts.MaxValueLength } text && (merged.ContainsKey(key) || merged.Count < Facts.MaxCount))
            {
                merged[key] = text;
            }
        }

        return merged;
    }
}
