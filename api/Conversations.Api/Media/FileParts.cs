using Conversations.Api.Endpoints;
using Conversations.Media;

namespace Conversations.Api.Media;

/// <summary>
/// Resolves the parts of a request that name an uploaded file (<c>file_id</c>) against the caller's tenant's files: each
/// becomes a reference to the file's bytes (loaded only where the model call is made). An unknown file, or a file of the
/// wrong kind for its part (a PDF in an image part), is a 400 that names the part.
/// </summary>
public static class FileParts
{
    public static async Task<Result<List<NewItem>>> Resolve(List<NewItem> items, ApiServices api)
    {
        if (!items.Any(item => item.Parts?.Any(part => part.FileId is not null) == true))
        {
            return items;
        }

        var files = api.Grains.GetGrain<IFilesGrain>(api.Tenant);
        var resolved = new List<NewItem>(items.Count);
        foreach (var item in items)
        {
            if (item.Parts?.Any(part => part.FileId is not null) != true)
            {
                resolved.Add(item);
                continue;
            }

            var parts = new List<ContentPart>(item.Parts.Count);
            foreach (var part in item.Parts)
            {
                var read = part.FileId is { } id ? await Resolve(part, id, files) : part;
                if (!read.IsSuccess)
                {
                    return read.Error;
                }

                parts.Add(read.Value);
            }

            resolved.Add(item with { Parts = parts });
        }

        return resolved;
    }

    private static async Task<Result<ContentPart>> Resolve(ContentPart part, string fileId, IFilesGrain files)
    {
        var param = part.Param ?? "file_id";
        var found = await files.Get(fileId);
        if (!found.IsSuccess)
        {
            return GatewayError.Invalid($"Invalid '{param}': no file found with id '{fileId}'.", param, "file_not_found");
        }

        var file = found.Value;
        var kind = file.MediaType.StartsWith("image/", StringComparison.Ordinal) ? Modalities.Image
            : file.MediaType.StartsWith("audio/", StringComparison.Ordinal) ? Modalities.Audio
            : Modalities.File;
        if (part.Kind == Modalities.Image && kind != Modalities.Image)
        {
            return GatewayError.Invalid($"Invalid '{param}': the file '{fileId}' is {file.MediaType}, not an image.", param, "unsupported_content_type");
        }

        return part with
        {
            Kind = kind,
            MediaType = file.MediaType,
            Size = file.Bytes,
            Ref = file.Address,
            Filename = part.Filename ?? file.Filename,
            Width = file.Width,
            Height = file.Height,
        };
    }
}
