namespace Conversations.Media;

/// <summary>
/// A tenant's uploaded files (OpenAI's Files API), keyed by tenant: each file's description. The bytes are media
/// (<see cref="IMediaGrain"/>), held by the file until it is deleted.
/// </summary>
public interface IFilesGrain : IGrainWithStringKey
{
    /// <summary>Adds a file; a 429 when the tenant holds <see cref="MaxFiles"/> already.</summary>
    Task<Result<StoredFile>> Add(StoredFile file);

    [Orleans.Concurrency.AlwaysInterleave]
    Task<Result<StoredFile>> Get(string fileId);

    /// <summary>The files, newest first, with <paramref name="purpose"/> when it is set, after <paramref name="after"/> when that is set.</summary>
    [Orleans.Concurrency.AlwaysInterleave]
    Task<FilePage> List(string? purpose, string? after, int limit);

    Task<Result<StoredFile>> Delete(string fileId);

    public const int MaxFiles = 10_000;
}

/// <summary>An uploaded file: its id, name, purpose and size, and where its bytes are (<see cref="Address"/>).</summary>
[GenerateSerializer, Immutable, Alias("conv.StoredFile")]
public sealed record StoredFile(
    [property: Id(0)] string Id,
    [property: Id(1)] string Filename,
    [property: Id(2)] string Purpose,
    [property: Id(3)] long Bytes,
    [property: Id(4)] DateTimeOffset CreatedAt,
    [property: Id(5)] string MediaType,
    [property: Id(6)] string Address,
    [property: Id(7)] int? Width = null,
    [property: Id(8)] int? Height = null)
{
    public const string IdPrefix = "file";

    /// <summary>The purposes a file may be uploaded for: <c>user_data</c> (any file for model input) and <c>vision</c> (an image).</summary>
    public static IReadOnlyList<string> Purposes { get; } = ["user_data", "vision"];
}

[GenerateSerializer, Immutable, Alias("conv.FilePage")]
public sealed record FilePage([property: Id(0)] IReadOnlyList<StoredFile> Files, [property: Id(1)] bool HasMore);
