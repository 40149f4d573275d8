using System.ClientModel;
using System.Net;
using System.Text.Json;
using Conversations.Tests.Infrastructure;
using OpenAI.Files;

namespace Conversations.Tests.Media;

/// <summary>
/// OpenAI's Files API over real HTTP through the official .NET SDK: upload, list, retrieve, download and delete, each
/// tenant seeing only its own files; content checked by its bytes, sizes limited, every refusal in OpenAI's error shape.
/// </summary>
[Collection(MediaCollection.Name)]
public sealed class FilesApiTests(MediaFixture fixture)
{
    private OpenAIFileClient Files(string key = GatewayFactory.ApiKey) => fixture.Gateway.OpenAI(key).GetOpenAIFileClient();

    [Fact]
    public async Task An_uploaded_file_is_listed_retrieved_downloaded_and_deleted_in_OpenAIs_shapes()
    {
        OpenAIFile uploaded = await Files().UploadFileAsync(BinaryData.FromBytes(MediaFixture.Pixel), "pixel.png", FileUploadPurpose.Vision);

        Assert.StartsWith("file-", uploaded.Id, StringComparison.Ordinal);
        Assert.Equal("pixel.png", uploaded.Filename);
        Assert.Equal(MediaFixture.Pixel.Length, uploaded.SizeInBytesLong);
        Assert.Equal(FilePurpose.Vision, uploaded.Purpose);
        OpenAIFile retrieved = await Files().GetFileAsync(uploaded.Id);
        Assert.Equal((uploaded.Id, uploaded.Filename, uploaded.CreatedAt), (retrieved.Id, retrieved.Filename, retrieved.CreatedAt));
        OpenAIFileCollection listed = await Files().GetFilesAsync();
        Assert.Contains(listed, file => file.Id == uploaded.Id);
        BinaryData content = await Files().DownloadFileAsync(uploaded.Id);
        Assert.Equal(MediaFixture.Pixel, content.ToArray());

        using var http = fixture.Gateway.Http();
        var raw = JsonDocument.Parse(await http.GetStringAsync($"/v1/files/{uploaded.Id}")).RootElement;
        Assert.Equal(["bytes", "created_at", "filename", "id", "object", "purpose", "status"], raw.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal("file", raw.GetProperty("object").GetString());
        using var download = await http.GetAsync($"/v1/files/{uploaded.Id}/content");
        Assert.Equal("image/png", download.Content.Headers.ContentType?.MediaType);

        FileDeletionResult deleted = await Files().DeleteFileAsync(uploaded.Id);
        Assert.True(deleted.Deleted);
        Assert.Equal(uploaded.Id, deleted.FileId);
        using var gone = await http.GetAsync($"/v1/files/{uploaded.Id}");
        await gone.AssertOpenAIError(HttpStatusCode.NotFound);
        using var goneContent = await http.GetAsync($"/v1/files/{uploaded.Id}/content");
        await goneContent.AssertOpenAIError(HttpStatusCode.NotFound);
        Assert.DoesNotContain((await Files().GetFilesAsync()).Value, file => file.Id == uploaded.Id);
    }

    [Fact]
    public async Task Another_tenants_file_is_not_found_not_listed_and_not_deleted()
    {
        OpenAIFile mine = await Files().UploadFileAsync(BinaryData.FromBytes(MediaFixture.Pdf), "notes.pdf", FileUploadPurpose.UserData);
        using var other = fixture.Gateway.Http(GatewayFactory.OtherTenantKey);

        using var get = await other.GetAsync($"/v1/files/{mine.Id}");
        using var content = await other.GetAsync($"/v1/files/{mine.Id}/content");
        using var delete = await other.DeleteAsync($"/v1/files/{mine.Id}");
        OpenAIFileCollection theirs = await Files(GatewayFactory.OtherTenantKey).GetFilesAsync();

        await get.AssertOpenAIError(HttpStatusCode.NotFound);
        await content.AssertOpenAIError(HttpStatusCode.NotFound);
        await delete.AssertOpenAIError(HttpStatusCode.NotFound);
        Assert.DoesNotContain(theirs, file => file.Id == mine.Id);
        Assert.Equal(MediaFixture.Pdf, (await Files().DownloadFileAsync(mine.Id)).Value.ToArray());
    }

    [Theory]
    [InlineData("vision", "pdf", "file", "unsupported_content_type")] // a vision file must be an image
    [InlineData("user_data", "binary", "file", "unsupported_content_type")] // bytes of no supported type
    [InlineData("fine-tune", "png", "purpose", "invalid_value")] // no fine-tuning here
    [InlineData("user_data", "large", "file", "file_too_large")]
    public async Task A_bad_upload_is_a_400_naming_the_field_and_stores_nothing(string purpose, string content, string param, string code)
    {
        var data = content switch
        {
            "pdf" => MediaFixture.Pdf,
            "png" => MediaFixture.Pixel,
            "binary" => [0x00, 0x01, 0x02, 0xFF, 0xFE],
            _ => new byte[MediaFixture.MaxFileBytes + 1],
        };
        using var http = fixture.Gateway.Http(GatewayFactory.OtherTenantKey);
        var before = await Count(http);

        using var response = await http.PostAsync("/v1/files", MediaFixture.Form(data, "upload.bin", purpose));

        Assert.Equal(code, (await response.AssertOpenAIError(HttpStatusCode.BadRequest, param)).GetProperty("code").GetString());
        Assert.Equal(before, await Count(http));
    }

    [Fact]
    public async Task An_upload_without_a_file_or_with_a_broken_body_is_a_400_and_one_sent_as_json_a_415()
    {
        using var http = fixture.Gateway.Http();
        using var noFile = await http.PostAsync("/v1/files", new MultipartFormDataContent { { new StringContent("vision"), "purpose" } });
        using var json = await http.PostAsync("/v1/files", new StringContent("""{"purpose":"vision"}""", System.Text.Encoding.UTF8, "application/json"));

        using var broken = await http.PostAsync("/v1/files", new ByteArrayContent("--x\r\ngarbage"u8.ToArray()) { Headers = { { "Content-Type", "multipart/form-data; boundary=x" } } });
        using var noBoundary = await http.PostAsync("/v1/files", new ByteArrayContent([1, 2, 3]) { Headers = { { "Content-Type", "multipart/form-data" } } });
        using var noParts = await http.PostAsync("/v1/files", new ByteArrayContent("""{"purpose":"vision"}"""u8.ToArray()) { Headers = { { "Content-Type", "multipart/form-data; boundary=x" } } });

        Assert.Equal("missing_required_parameter", (await noFile.AssertOpenAIError(HttpStatusCode.BadRequest, "file")).GetProperty("code").GetString());
        Assert.Equal("invalid_multipart", (await broken.AssertOpenAIError(HttpStatusCode.BadRequest, "file")).GetProperty("code").GetString());
        Assert.Equal("invalid_multipart", (await noBoundary.AssertOpenAIError(HttpStatusCode.BadRequest, "file")).GetProperty("code").GetString());
        Assert.Equal("invalid_multipart", (await noParts.AssertOpenAIError(HttpStatusCode.BadRequest, "file")).GetProperty("code").GetString()); // no boundary in the body: the reader's IOException
        await json.AssertOpenAIError(HttpStatusCode.UnsupportedMediaType);
    }

    private static async Task<int> Count(HttpClient http) =>
        JsonDocument.Parse(await http.GetStringAsync("/v1/files")).RootElement.GetProperty("data").GetArrayLength();
}
