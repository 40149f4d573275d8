namespace Conversations.Grains.Guardrails;

/// <summary>
/// Restores masks in a streamed answer. A placeholder may arrive split across chunks (<c>"&lt;EMA"</c>, <c>"IL_1&gt;"</c>):
/// text from an unclosed <c>&lt;</c> that could still become one is held back, at most
/// <see cref="MaskTable.MaxPlaceholderLength"/> characters, and everything before it flows at once.
/// </summary>
public sealed class StreamRestorer(MaskTable masks)
{
    private string _held = string.Empty;

    /// <summary>What can be sent now of the answer so far, with its placeholders restored.</summary>
    public string Push(string delta)
    {
        var text = _held.Length == 0 ? delta : _held + delta;
        var open = text.LastIndexOf('<');
        var cut = open >= 0 && MaskTable.CouldBecomePlaceholder(text.AsSpan(open)) ? open : text.Length;
        _held = text[cut..];
        return masks.Restore(text[..cut]);
    }

    /// <summary>What was held back, at the end of the answer.</summary>
    public string Flush()
    {
        var rest = masks.Restore(_held);
        _held = string.Empty;
        return rest;
    }
}
