using System.Buffers.Binary;
using Conversations.Tests.Infrastructure;
using Conversations.Tests.Routing;

namespace Conversations.Tests.Media;

/// <summary>
/// One gateway in front of one simulated upstream over real HTTP, with routes that differ in what they take:
/// <c>vision</c> (OpenAI-compatible, every kind), <c>claude</c> (Anthropic), <c>mixed</c> (a text-only simulated deployment
/// first, the upstream second) and <c>blind</c> (text only). Parts are capped at 64 KiB and uploads at 96 KiB, so tests can
/// pass the limits cheaply.
/// </summary>
public sealed class MediaFixture : IAsyncLifetime
{
    public const int MaxPartBytes = 64 * 1024;
    public const int MaxFileBytes = 96 * 1024;

    /// <summary>A real 1×1 PNG.</summary>
    public static readonly byte[] Pixel = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==");

    public static readonly byte[] Pdf = "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n3 0 obj << /Type /Page /Parent 2 0 R >> endobj\n%%EOF\n"u8.ToArray();

    public UpstreamServer Upstream { get; private set; } = null!;

    public GatewayFactory Gateway { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Upstream = await UpstreamServer.StartAsync();
        var settings = Upstream.CredentialSettings("upstream");
        foreach (var (key, value) in RoutingFixture.Flatten(Routes))
        {
            settings[key] = value;
        }

        settings["Conversations:Media:MaxPartBytes"] = MaxPartBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Conversations:Media:MaxFileBytes"] = MaxFileBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Gateway = new GatewayFactory(settings);
    }

    private static string Routes => """
        {
          "Conversations": {
            "Routes": {
              "vision": { "Deployments": [ { "Name": "vision", "Credential": "upstream", "UpstreamModel": "sim-upstream" } ] },
              "claude": { "Deployments": [ { "Name": "claude", "Provider": "Anthropic", "Credential": "upstream", "UpstreamModel": "claude-sim" } ] },
              "mixed": { "Deployments": [
                { "Name": "words", "Provider": "Simulated", "InputModalities": [ "text" ] },
                { "Name": "eyes", "Credential": "upstream", "UpstreamModel": "sim-upstream", "Priority": 1 } ] },
              "blind": { "Deployments": [ { "Name": "blind", "Credential": "upstream", "UpstreamModel": "sim-upstream", "InputModalities": [ "text" ] } ] }
            }
          }
        }
        """;

    /// <summary>A PNG header claiming <paramref name="width"/>×<paramref name="height"/> pixels (the gateway reads sizes from headers only).</summary>
    public static byte[] PngOfSize(int width, int height)
    {
        var png = (byte[])Pixel.Clone();
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(16), width);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(20), height);
        return png;
    }

    /// <summary>An upload to <c>POST /v1/files</c>, as the SDKs send it.</summary>
    public static MultipartFormDataContent Form(byte[] data, string filename, string purpose)
    {
        var file = new ByteArrayContent(data);
        file.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
        return new MultipartFormDataContent { { new StringContent(purpose), "purpose" }, { file, "file", filename } };
    }

    public static string DataUrl(byte[] data, string mediaType = "image/png") => $"data:{mediaType};base64,{Convert.ToBase64String(data)}";

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class MediaCollection : ICollectionFixture<MediaFixture>
{
    public const string Name = "media";
}
