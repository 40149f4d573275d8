using Conversations.Media;
using Conversations.Providers;
using Conversations.Tests.Infrastructure;

namespace Conversations.Tests.Media;

/// <summary>What a part costs in a context, by the providers' published rules, and what bytes are, read from their headers.</summary>
[Trait(TestSpeed.Category, TestSpeed.Fast)]
public sealed class MediaTokensTests
{
    [Theory]
    [InlineData(1024, 1024, "high", 765)] // OpenAI's worked example: scaled to 768×768, four tiles
    [InlineData(2048, 4096, "high", 1105)] // fitted to 1024×2048, then 768×1536: six tiles
    [InlineData(4096, 8192, "low", 85)] // low detail is flat
    [InlineData(100, 100, null, 255)] // one tile
    public void OpenAIs_tile_formula_matches_its_published_examples(int width, int height, string? detail, int expected) =>
        Assert.Equal(expected, MediaTokens.OpenAIImage(width, height, detail));

    [Theory]
    [InlineData(1092, 1092, 1590)] // Anthropic's table: about 1590 tokens
    [InlineData(200, 200, 54)]
    [InlineData(3136, 1568, 1640)] // the long edge scaled to 1568 first
    public void Anthropics_pixel_formula_matches_its_published_examples(int width, int height, int expected) =>
        Assert.Equal(expected, MediaTokens.AnthropicImage(width, height));

    [Fact]
    public void An_image_counts_the_larger_of_the_two_rules_so_the_budget_holds_for_either_provider()
    {
        Assert.Equal(MediaTokens.AnthropicImage(1024, 1024), MediaTokens.Image(1024, 1024, "high"));
        Assert.Equal(MediaTokens.OpenAIImage(100, 100, "high"), MediaTokens.Image(100, 100, "high"));
        var priced = MediaTokens.Priced(new ContentPart(Modalities.Image, MediaSniffer.Png, 70, Width: 1092, Height: 1092), TokenCounter.Shared);
        Assert.Equal(1590, priced.Tokens);
    }

    [Fact]
    public void A_pdf_counts_per_page_and_a_text_file_its_text()
    {
        var pdf = new ContentPart(Modalities.File, MediaSniffer.Pdf, MediaFixture.Pdf.Length, MediaFixture.Pdf);
        var text = "the quick brown fox jumps over the lazy dog"u8.ToArray();
        var file = new ContentPart(Modalities.File, MediaSniffer.PlainText, text.Length, text);

        Assert.Equal(MediaTokens.PdfPageTokens, MediaTokens.Count(pdf, TokenCounter.Shared)); // one /Type /Page, and /Pages is not a page
        Assert.Equal(TokenCounter.Shared.Count("the quick brown fox jumps over the lazy dog"), MediaTokens.Count(file, TokenCounter.Shared));
    }

    [Fact]
    public void Sniffing_reads_the_type_and_size_from_the_bytes_not_from_a_name()
    {
        byte[] gif = [.. "GIF89a"u8, 3, 0, 2, 0, 0, 0];
        byte[] jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, .. new byte[14], 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00, 0x20, 0x00, 0x40, 0x03, 0x00, 0x00, 0x00];

        Assert.Equal(new SniffedMedia(MediaSniffer.Png, Modalities.Image, 1, 1), MediaSniffer.Sniff(MediaFixture.Pixel));
        Assert.Equal(new SniffedMedia(MediaSniffer.Png, Modalities.Image, 1920, 1080), MediaSniffer.Sniff(MediaFixture.PngOfSize(1920, 1080)));
        Assert.Equal(new SniffedMedia(MediaSniffer.Gif, Modalities.Image, 3, 2), MediaSniffer.Sniff(gif));
        Assert.Equal(new SniffedMedia(MediaSniffer.Jpeg, Modalities.Image, 64, 32), MediaSniffer.Sniff(jpeg));
        Assert.Equal(new SniffedMedia(MediaSniffer.Pdf, Modalities.File), MediaSniffer.Sniff(MediaFixture.Pdf));
        Assert.Equal(new SniffedMedia(MediaSniffer.PlainText, Modalities.File), MediaSniffer.Sniff("plain words"u8));
        Assert.Null(MediaSniffer.Sniff([0x00, 0x01, 0x02, 0xFF]));
        Assert.Null(MediaSniffer.Sniff(MediaFixture.PngOfSize(0, 10))); // an image of no size is no image
    }
}
