using Conversations.Prompts;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains.Prompts;

/// <summary>
/// A tenant's prompts, newest first, in one grain (decision 0087): a tenant's library is written by hand, so it stays
/// small beside its conversations; a page is a binary search to the cursor and a copy of at most a page.
/// </summary>
public sealed class PromptDirectoryGrain(
    [PersistentState("prompts", StorageNames.Conversations)] IPersistentState<PromptDirectoryState> state,
    ILogger<PromptDirectoryGrain> logger) : Grain, IPromptDirectoryGrain
{
    public async Task<GatewayError?> Put(PromptEntry entry)
    {
        var entries = state.State.Entries;
        if (entries.Any(e => e.Id == entry.Id))
        {
            return null;
        }

        var at = entries.BinarySearch(entry, PromptEntry.NewestFirst);
        List<PromptEntry> next = [.. entries];
        next.Insert(at < 0 ? ~at : at, entry);
        return await state.TryReplace(new PromptDirectoryState { Entries = next }, this, logger);
    }

    public Task<PromptPage> List(string? after, int limit)
    {
        var entries = state.State.Entries;
        var start = after is null ? 0 : entries.FindIndex(e => e.Id == after) + 1; // an unknown cursor starts over, as it names no prompt
        var page = entries.Skip(start).Take(limit).ToList();
        return Task.FromResult(new PromptPage(page, start + page.Count < entries.Count));
    }
}

[GenerateSerializer, Alias("conv.PromptDirectoryState")]
public sealed record PromptDirectoryState
{
    /// <summary>Newest first (<see cref="PromptEntry.NewestFirst"/>).</summary>
    [Id(0)] public List<PromptEntry> Entries { get; init; } = [];
}
