using System.Globalization;
using Conversations.Api.Errors;
using Conversations.Api.Media;
using Conversations.Api.Security;
using Conversations.Media;
using Conversations.Tenancy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Conversations.Api.Endpoints;

/// <summary>
/// OpenAI's Files API for model input (<c>purpose</c> <c>user_data</c> or <c>vision</c>): upload (multipart), list, retrieve,
/// download and delete, per tenant. The bytes are sniffed (an image, a PDF, a text file, audio), limited by
/// <see cref="MediaOptions.MaxFileBytes"/>, and stored once by content address in the tenant's media store, where they count
/// against its stored bytes; <c>file_id</c> then names them in chat, responses and conversation items.
/// </summary>
public static class FilesEndpoints
{
    public static RouteGroupBuilder MapFiles(this RouteGroupBuilder v1)
    {
        var files = v1.MapGroup("/files").WithTags("Files").RequireScope(EndpointGroups.Files);
        files.MapPost("/", Upload).WithSummary("Upload a file (multipart/form-data: file, purpose).")
            .Accepts<IFormFile>("multipart/form-data").Produces<FileJson>().Produces<OpenAIErrorBody>(400).Produces<OpenAIErrorBody>(429);
        files.MapGet("/", List).WithSummary("List the tenant's files, newest first.").Produces<ListJson<FileJson>>();
        files.MapGet("/{fileId}", Get).WithSummary("Retrieve a file's description.").Produces<FileJson>().Produces<OpenAIErrorBody>(404);
        files.MapGet("/{fileId}/content", Content).WithSummary("Download a file's bytes.").Produces(200).Produces<OpenAIErrorBody>(404);
        files.MapDelete("/{fileId}", Delete).WithSummary("Delete a file.").Produces<DeletedJson>().Produces<OpenAIErrorBody>(404);
        return v1;
    }

    private static async Task<IResult> Upload([AsParameters] ApiServices api)
    {
        if (!api.Http.Request.HasFormContentType)
        {
            return GatewayError.Invalid("Send the file as multipart/form-data with the fields 'file' and 'purpose'.", "file", "invalid_content_type").ToResult();
        }

        IFormCollection form;
        try
        {
            form = await api.Http.Request.ReadFormAsync(api.Aborted);
        }
        catch (Exception exception) when (exception is InvalidDataException || (exception is IOException && !api.Aborted.IsCancellationRequested)) // e.g. no boundary in the body
        {
            return GatewayError.Invalid($"The multipart body could not be read: {exception.Message}", "file", "invalid_multipart").ToResult();
        }

        var purpose = form["purpose"].FirstOrDefault();
        if (purpose is null || !StoredFile.Purposes.Contains(purpose))
        {
            return GatewayError.Invalid($"Invalid 'purpose': expected one of {string.Join(", ", StoredFile.Purposes.Select(p => $"'{p}'"))}.", "purpose", "invalid_value").ToResult();
        }

        if (form.Files.GetFile("file") is not { } upload)
        {
            return GatewayError.Invalid("Missing required parameter: 'file'.", "file", "missing_required_parameter").ToResult();
        }

        if (upload.Length > api.Media.MaxFileBytes)
        {
            return GatewayError.Invalid($"Invalid 'file': it has {upload.Length} bytes; a file may have at most {api.Media.MaxFileBytes}.", "file", "file_too_large").ToResult();
        }

        var data = new byte[upload.Length];
        await using (var stream = upload.OpenReadStream())
        {
            await stream.ReadExactlyAsync(data, api.Aborted);
        }

        if (MediaSniffer.Sniff(data) is not { } sniffed || (purpose == "vision" && sniffed.Kind != Modalities.Image))
        {
            return GatewayError.Invalid(
                $"Invalid 'file': expected {(purpose == "vision" ? "a PNG, JPEG, GIF or WebP image" : "an image, a PDF, a UTF-8 text file, or WAV or MP3 audio")}.",
                "file", "unsupported_content_type").ToResult();
        }

        var file = new StoredFile(
            "file-" + Ids.Opaque(), Path.GetFileName(upload.FileName), purpose, data.Length, api.Clock.GetUtcNow(), sniffed.MediaType, ContentAddress.Of(data),
            sniffed.Width, sniffed.Height);
        var media = api.Grains.GetGrain<IMediaGrain>(MediaKeys.For(api.Tenant, file.Address));
        if (await media.Put(data, file.MediaType, MediaKeys.File(file.Id), api.Caller.Storage) is { } refused)
        {
            return (refused.Code == StorageLimits.StorageLimitReached ? refused with { Param = "file" } : refused).ToResult();
        }

        var added = await Files(api).Add(file);
        if (!added.IsSuccess)
        {
            await media.Release(MediaKeys.File(file.Id));
            return added.Error.ToResult();
        }

        return TypedResults.Json(FileJson.From(added.Value), ApiJson.Options);
    }

    private static async Task<IResult> List(string? purpose, string? after, string? limit, [AsParameters] ApiServices api)
    {
        var count = limit is null ? 10_000 : int.TryParse(limit, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) ? parsed : 0;
        if (count is < 1 or > 10_000)
        {
            return GatewayError.Invalid("Invalid 'limit': expected an integer between 1 and 10000.", "limit", "invalid_value").ToResult();
        }

        var page = await Files(api).List(purpose, after, count);
        List<FileJson> data = [.. page.Files.Select(FileJson.From)];
        return TypedResults.Json(new ListJson<FileJson>(data, data.FirstOrDefault()?.Id, data.LastOrDefault()?.Id, page.HasMore), ApiJson.Options);
    }

    private static async Task<IResult> Get(string fileId, [AsParameters] ApiServices api)
    {
        var file = await Files(api).Get(fileId);
        return file.IsSuccess ? TypedResults.Json(FileJson.From(file.Value), ApiJson.Options) : file.Error.ToResult();
    }

    private static async Task<IResult> Content(string fileId, [AsParameters] ApiServices api)
    {
        var file = await Files(api).Get(fileId);
        if (!file.IsSuccess)
        {
            return file.Error.ToResult();
        }

        var content = await api.Grains.GetGrain<IMediaGrain>(MediaKeys.For(api.Tenant, file.Value.Address)).Get();
        return content is null
            ? GatewayError.NotFound("file content", fileId).ToResult()
            : TypedResults.File(content.Data, content.MediaType, file.Value.Filename);
    }

    private static async Task<IResult> Delete(string fileId, [AsParameters] ApiServices api)
    {
        var deleted = await Files(api).Delete(fileId);
        if (!deleted.IsSuccess)
        {
            return deleted.Error.ToResult();
        }

        // The bytes go with their last holder: a conversation that sent this file keeps them.
        await api.Grains.GetGrain<IMediaGrain>(MediaKeys.For(api.Tenant, deleted.Value.Address)).Release(MediaKeys.File(fileId));
        return TypedResults.Json(new DeletedJson(fileId, "file", true), ApiJson.Options);
    }

    private static IFilesGrain Files(ApiServices api) => api.Grains.GetGrain<IFilesGrain>(api.Tenant);
}
