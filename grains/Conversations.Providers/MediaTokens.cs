using System.Buffers.Binary;
using System.Text;
using Conversations.Media;

namespace Conversations.Providers;

/// <summary>
/// What a non-text part costs in a context, counted before any model sees it, by the providers' published rules. An image
/// counts the larger of OpenAI's tile formula (<c>low</c> detail 85; otherwise fit within 2048×2048, shortest side at most
/// 768, then 85 + 170 per 512-pixel tile) and Anthropic's pixel formula (long edge at most 1568, then width × height / 750),
/// so the budget holds whichever deployment serves the call; an image of unknown size (a remote URL) counts as 1024×1024.
/// A text file counts its text; a PDF counts <see cref="PdfPageTokens"/> per page (Anthropic sends each page as text and an
/// image); audio counts 10 tokens a second (OpenAI's rate), a WAV's length read from its header, an MP3's at 128 kbit/s.
/// These are estimates for the budget; usage is what the provider reports.
/// </summary>
public static class MediaTokens
{
    public const int PdfPageTokens = 1_600;
    private const int UnknownSide = 1024;

    /// <summary><paramref name="part"/> with its <see cref="ContentPart.Tokens"/> counted.</summary>
    public static ContentPart Priced(ContentPart part, TokenCounter tokens) => part with { Tokens = Count(part, tokens) };

    public static int Count(ContentPart part, TokenCounter tokens) => part.Kind switch
    {
        Modalities.Image => Image(part.Width ?? UnknownSide, part.Height ?? UnknownSide, part.Detail),
        Modalities.File when part.MediaType == MediaSniffer.PlainText && part.Data is { } text => tokens.Count(Encoding.UTF8.GetString(text)),
        Modalities.File when part.MediaType == MediaSniffer.Pdf && part.Data is { } pdf => PdfPageTokens * Math.Max(1, PdfPages(pdf)),
        Modalities.File => (int)Math.Min(int.MaxValue, Math.Max(1, part.Size / 4)),
        Modalities.Audio => (int)Math.Ceiling(10 * AudioSeconds(part)),
        _ => 0,
    };

    public static int Image(int width, int height, string? detail) => Math.Max(OpenAIImage(width, height, detail), AnthropicImage(width, height));

    public static int OpenAIImage(int width, int height, string? detail)
    {
        if (detail == "low")
        {
            return 85;
        }

        double w = width, h = height;
        if (Math.Max(w, h) > 2048)
        {
            var scale = 2048 / Math.Max(w, h);
            (w, h) = (w * scale, h * scale);
        }

        if (Math.Min(w, h) > 768)
        {
            var scale = 768 / Math.Min(w, h);
            (w, h) = (w * scale, h * scale);
        }

        return 85 + 170 * (int)(Math.Ceiling(w / 512) * Math.Ceiling(h / 512));
    }

    public static int AnthropicImage(int width, int height)
    {
        double w = width, h = height;
        if (Math.Max(w, h) > 1568)
        {
            var scale = 1568 / Math.Max(w, h);
            (w, h) = (w * scale, h * scale);
        }

        return (int)Math.Ceiling(w * h / 750);
    }

    /// <summary>Pages of a PDF, counted by their page objects (<c>/Type /Page</c>, not <c>/Pages</c>); 0 when none is visible.</summary>
    private static int PdfPages(byte[] pdf)
    {
        var pages = 0;
        var text = pdf.AsSpan();
        for (var at = text.IndexOf("/Type"u8); at >= 0; at = text.IndexOf("/Type"u8))
        {
            text = text[(at + 5)..];
            var rest = text.TrimStart(" \r\n\t"u8);
            if (rest.StartsWith("/Page"u8) && (rest.Length == 5 || rest[5] != (byte)'s'))
            {
                pages++;
            }
        }

        return pages;
    }

    private static double AudioSeconds(ContentPart part)
    {
        if (part.MediaType == MediaSniffer.Wav && part.Data is { Length: >= 44 } wav && BinaryPrimitives.ReadInt32LittleEndian(wav.AsSpan(28)) is > 0 and var bytesPerSecond)
        {
            return (double)(wav.Length - 44) / bytesPerSecond;
        }

        return part.Size / 16_000d;
    }
}
