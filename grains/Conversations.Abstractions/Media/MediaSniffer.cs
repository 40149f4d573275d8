using System.Buffers.Binary;
using System.Text.Unicode;

namespace Conversations.Media;

/// <summary>What a sniffed blob of bytes is: its media type, the kind of part that carries it, and an image's size in pixels.</summary>
public sealed record SniffedMedia(string MediaType, string Kind, int? Width = null, int? Height = null);

/// <summary>
/// Tells what bytes are from their first bytes, never from what a client declares: the four image formats OpenAI takes
/// (PNG, JPEG, GIF, WebP, with their size in pixels from their headers), PDF, WAV and MP3 audio, and UTF-8 text. Only
/// headers are read; no image is decoded (decision 0041: no image library is needed to read a size).
/// </summary>
public static class MediaSniffer
{
    public const string Png = "image/png";
    public const string Jpeg = "image/jpeg";
    public const string Gif = "image/gif";
    public const string Webp = "image/webp";
    public const string Pdf = "application/pdf";
    public const string PlainText = "text/plain";
    public const string Wav = "audio/wav";
    public const string Mp3 = "audio/mpeg";

    /// <summary>The media types the gateway accepts, by the kind of part that may carry them.</summary>
    public static IReadOnlyList<string> Accepted { get; } = [Png, Jpeg, Gif, Webp, Pdf, PlainText, Wav, Mp3];

    // Not a u8 literal: "\x89" there would be U+0089, encoded as two bytes.
    private static ReadOnlySpan<byte> PngSignature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    public static SniffedMedia? Sniff(ReadOnlySpan<byte> data)
    {
        if (data.StartsWith(PngSignature) && data.Length >= 24)
        {
            return Image(Png, BinaryPrimitives.ReadInt32BigEndian(data[16..]), BinaryPrimitives.ReadInt32BigEndian(data[20..]));
        }

        if (data.StartsWith("GIF87a"u8) || data.StartsWith("GIF89a"u8))
        {
            return data.Length >= 10 ? Image(Gif, BinaryPrimitives.ReadUInt16LittleEndian(data[6..]), BinaryPrimitives.ReadUInt16LittleEndian(data[8..])) : null;
        }

        if (data.Length >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        {
            return JpegSize(data) is var (width, height) ? Image(Jpeg, width, height) : null;
        }

        if (data.Length >= 12 && data.StartsWith("RIFF"u8) && data[8..12].SequenceEqual("WEBP"u8))
        {
            return WebpSize(data) is var (width, height) ? Image(Webp, width, height) : null;
        }

        if (data.Length >= 12 && data.StartsWith("RIFF"u8) && data[8..12].SequenceEqual("WAVE"u8))
        {
            return new SniffedMedia(Wav, Modalities.Audio);
        }

        if (data.StartsWith("ID3"u8) || (data.Length >= 2 && data[0] == 0xFF && (data[1] & 0xE0) == 0xE0))
        {
            return new SniffedMedia(Mp3, Modalities.Audio);
        }

        if (data.StartsWith("%PDF-"u8))
        {
            return new SniffedMedia(Pdf, Modalities.File);
        }

        return data.Length > 0 && !data.Contains((byte)0) && Utf8.IsValid(data) ? new SniffedMedia(PlainText, Modalities.File) : null;
    }

    private static SniffedMedia? Image(string type, int width, int height) =>
        width > 0 && height > 0 ? new SniffedMedia(type, Modalities.Image, width, height) : null;

    /// <summary>The size in a JPEG's start-of-frame segment, found by walking the segments from the start.</summary>
    private static (int Width, int Height)? JpegSize(ReadOnlySpan<byte> data)
    {
        var at = 2;
        while (at + 9 < data.Length)
        {
            if (data[at] != 0xFF)
            {
                return null;
            }

            var marker = data[at + 1];
            if (marker is 0xFF)
            {
                at++;
                continue;
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(data[(at + 2)..]);
            if (marker is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC)
            {
                return (BinaryPrimitives.ReadUInt16BigEndian(data[(at + 7)..]), BinaryPrimitives.ReadUInt16BigEndian(data[(at + 5)..]));
            }

            at += 2 + length;
        }

        return null;
    }

    /// <summary>The size in a WebP's first chunk: lossy (VP8), lossless (VP8L) or extended (VP8X).</summary>
    private static (int Width, int Height)? WebpSize(ReadOnlySpan<byte> data)
    {
        if (data.Length < 30)
        {
            return null;
        }

        var chunk = data[12..16];
        if (chunk.SequenceEqual("VP8 "u8))
        {
            return (BinaryPrimitives.ReadUInt16LittleEndian(data[26..]) & 0x3FFF, BinaryPrimitives.ReadUInt16LittleEndian(data[28..]) & 0x3FFF);
        }

        if (chunk.SequenceEqual("VP8L"u8))
        {
            var bits = BinaryPrimitives.ReadUInt32LittleEndian(data[21..]);
            return ((int)(bits & 0x3FFF) + 1, (int)((bits >> 14) & 0x3FFF) + 1);
        }

        if (chunk.SequenceEqual("VP8X"u8))
        {
            return ((data[24] | data[25] << 8 | data[26] << 16) + 1, (data[27] | data[28] << 8 | data[29] << 16) + 1);
        }

        return null;
    }
}
