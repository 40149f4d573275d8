using Orleans.Concurrency;

namespace Conversations.Prompts;

/// <summary>
/// A tenant's list of its prompts, keyed <c>{tenant}</c> (decision 0087): written when a prompt's first version is, read a
/// page at a time, newest first. Nothing else of a prompt (its later versions, its labels, its rendering) touches it.
/// </summary>
public interface IPromptDirectoryGrain : IGrainWithStringKey
{
    /// <summary>Adds the prompt (again: no change); null when it is written.</summary>
    Task<GatewayError?> Put(PromptEntry entry);

    /// <summary>Up to <paramref name="limit"/> prompts after the one with id <paramref name="after"/> (from the newest without it).</summary>
    [AlwaysInterleave]
    Task<PromptPage> List(string? after, int limit);
}

/// <summary>A prompt as its tenant's list shows it: what its first version said.</summary>
[GenerateSerializer, Immutable, Alias("conv.PromptEntry")]
public sealed record PromptEntry(
    [property: Id(0)] string Id,
    [property: Id(1)] DateTimeOffset CreatedAt,
    [property: Id(2)] string? Model,
    [property: Id(3)] string Summary)
{
    /// <summary>The longest <see cref="Summary"/> kept: the start of the first version's instructions or first message.</summary>
    public const int SummaryLength = 120;

    /// <summary>Newest first; ids break ties so that a cursor is exact.</summary>
    public static readonly Comparer<PromptEntry> NewestFirst = Comparer<PromptEntry>.Create((a, b) =>
        b.CreatedAt.CompareTo(a.CreatedAt) is var byTime and not 0 ? byTime : string.CompareOrdinal(b.Id, a.Id));

    public static PromptEntry Of(string id, PromptVersion first)
    {
        var text = (first.Instructions ?? (first.Input.Count > 0 ? first.Input[0].Content : string.Empty)).ReplaceLineEndings(" ").Trim();
        return new(id, first.CreatedAt, first.Model, text.Length <= SummaryLength ? text : text[..(SummaryLength - 1)] + "…");
    }
}

/// <summary>A page of a tenant's prompts, newest first; <see cref="HasMore"/> when older ones follow.</summary>
[GenerateSerializer, Immutable, Alias("conv.PromptPage")]
public sealed record PromptPage([property: Id(0)] IReadOnlyList<PromptEntry> Entries, [property: Id(1)] bool HasMore);
