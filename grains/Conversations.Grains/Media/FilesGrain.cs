using Conversations.Media;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains.Media;

/// <summary>A tenant's uploaded files, described in one record (see <see cref="IFilesGrain"/>); their bytes are media grains'.</summary>
public sealed class FilesGrain(
    [PersistentState("files", StorageNames.Conversations)] IPersistentState<FilesState> state,
    ILogger<FilesGrain> logger) : Grain, IFilesGrain
{
    public async Task<Result<StoredFile>> Add(StoredFile file)
    {
        if (state.State.Files.Count >= IFilesGrain.MaxFiles)
        {
            return new GatewayError(429, "invalid_request_error", "file_limit_reached", $"This tenant holds {IFilesGrain.MaxFiles} files, the most it may; delete files to make room.", "file");
        }

        return await state.TryReplace(new FilesState { Files = [.. state.State.Files, file] }, this, logger) ?? (Result<StoredFile>)file;
    }

    public Task<Result<StoredFile>> Get(string fileId) => Task.FromResult(Find(fileId));

    public Task<FilePage> List(string? purpose, string? after, int limit)
    {
        var files = Enumerable.Reverse(state.State.Files).Where(f => purpose is null || f.Purpose == purpose);
        if (after is not null)
        {
            files = files.SkipWhile(f => f.Id != after).Skip(1);
        }

        var page = files.Take(limit + 1).ToList();
        return Task.FromResult(new FilePage(page.Take(limit).ToList(), page.Count > limit));
    }

    public async Task<Result<StoredFile>> Delete(string fileId)
    {
        var found = Find(fileId);
        if (!found.IsSuccess)
        {
            return found;
        }

        return await state.TryReplace(new FilesState { Files = [.. state.State.Files.Where(f => f.Id != fileId)] }, this, logger) ?? found;
    }

    private Result<StoredFile> Find(string fileId) =>
        state.State.Files.Find(f => f.Id == fileId) is { } file ? file : GatewayError.NotFound("file", fileId);
}

[GenerateSerializer, Alias("conv.FilesState")]
public sealed record FilesState
{
    [Id(0)] public List<StoredFile> Files { get; init; } = [];
}
