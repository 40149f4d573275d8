namespace Conversations.Media;

/// <summary>
/// A non-text part of a message: an image, a file (a PDF, a text document) or audio. A part that arrived inline carries
/// its bytes in <see cref="Data"/> while a call needs them; a stored item never does: it keeps <see cref="Ref"/>, the
/// content address of the bytes in its tenant's media store (<see cref="IMediaGrain"/>), so an image sent in many turns is
/// stored once. A remote image is a <see cref="Url"/> the gateway passes on and never fetches. <see cref="Tokens"/> is what
/// the part costs in a context (<c>MediaTokens</c>); <see cref="Param"/> names the request field it came from, for errors.
/// </summary>
[GenerateSerializer, Immutable, Alias("conv.ContentPart")]
public sealed record ContentPart(
    [property: Id(0)] string Kind,
    [property: Id(1)] string MediaType,
    [property: Id(2)] long Size = 0,
    [property: Id(3)] byte[]? Data = null,
    [property: Id(4)] string? Ref = null,
    [property: Id(5)] string? Url = null,
    [property: Id(6)] string? Detail = null,
    [property: Id(7)] string? Filename = null,
    [property: Id(8)] int? Width = null,
    [property: Id(9)] int? Height = null,
    [property: Id(10)] string? FileId = null,
    [property: Id(11)] int Tokens = 0,
    [property: Id(12)] string? Param = null)
{
    /// <summary>The part as an item keeps it: a reference and what describes the bytes, never the bytes or the request field.</summary>
    public ContentPart Stored() => this with { Data = null, Param = null };

    /// <summary>A short description for logs, transcripts and the simulated model: kind, type and size.</summary>
    public string Describe() => $"[{Kind} {MediaType} {Size} bytes{(Width is { } w && Height is { } h ? $" {w}x{h}" : string.Empty)}]";
}

/// <summary>The kinds of input a deployment may take (<c>input_modalities</c>); text is always one.</summary>
public static class Modalities
{
    public const string Text = "text";
    public const string Image = "image";
    public const string File = "file";
    public const string Audio = "audio";

    public static IReadOnlyList<string> All { get; } = [Text, Image, File, Audio];

    public static bool IsKnown(string kind) => kind is Text or Image or File or Audio;

    /// <summary>The kinds beyond text that <paramref name="parts"/> need, each once, in order of first use.</summary>
    public static IReadOnlyList<ContentPart> FirstOfEachKind(IEnumerable<ContentPart> parts) =>
        [.. parts.DistinctBy(part => part.Kind)];
}
