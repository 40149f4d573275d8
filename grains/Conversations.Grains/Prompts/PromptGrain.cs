using System.Globalization;
using Conversations.Prompts;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace Conversations.Grains.Prompts;

/// <summary>A prompt of a tenant's library (decision 0062): its immutable versions and its labels, rendered by <see cref="PromptTemplates"/>.</summary>
public sealed partial class PromptGrain(
    [PersistentState("prompt", StorageNames.Conversations)] IPersistentState<PromptState> state,
    TimeProvider clock,
    ILogger<PromptGrain> logger) : Grain, IPromptGrain
{
    /// <summary>The label a request without <c>version</c> renders, when it is set; else the latest version.</summary>
    public const string DefaultLabel = "production";

    private const int MaxVersions = 1000;

    private string PromptId => GrainKeys.Parse(this.GetPrimaryKeyString()).Id;

    public async Task<Result<PromptView>> AddVersion(PromptVersion version)
    {
        if (state.State.Versions.Count >= MaxVersions)
        {
            return GatewayError.Invalid($"A prompt has at most {MaxVersions} versions.", null, "prompt_version_limit_reached");
        }

        var numbered = version with { Number = state.State.Versions.Count + 1, CreatedAt = clock.GetUtcNow() };
        if (PromptTemplates.Check(numbered) is { } refused)
        {
            return refused;
        }

        var next = state.State with { Versions = [.. state.State.Versions, numbered] };
        if (await state.TryReplace(next, this, logger) is { } failed)
        {
            return failed;
        }

        if (numbered.Number == 1)
        {
            await Listed(numbered);
        }

        return View();
    }

    public Task<Result<PromptView>> Get() => Task.FromResult(state.State.Versions.Count == 0 ? NotFound : (Result<PromptView>)View());

    public async Task<Result<PromptView>> SetLabel(string label, int version)
    {
        if (state.State.Versions.Count == 0)
        {
            return NotFound;
        }

        if (version < 1 || version > state.State.Versions.Count)
        {
            return GatewayError.NotFound("prompt version", version.ToString(CultureInfo.InvariantCulture), "version");
        }

        var labels = new Dictionary<string, int>(state.State.Labels, StringComparer.Ordinal) { [label] = version };
        return await state.TryReplace(state.State with { Labels = labels }, this, logger) is { } failed ? failed : View();
    }

    public Task<Result<RenderedPrompt>> Render(string? version, IReadOnlyDictionary<string, string> variables)
    {
        if (state.State.Versions.Count == 0)
        {
            return Task.FromResult<Result<RenderedPrompt>>(GatewayError.NotFound("prompt", PromptId, "prompt.id"));
        }

        var number = version is null
            ? state.State.Labels.GetValueOrDefault(DefaultLabel, state.State.Versions.Count)
            : int.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n
            : state.State.Labels.GetValueOrDefault(version);
        return Task.FromResult(number >= 1 && number <= state.State.Versions.Count
            ? PromptTemplates.Render(state.State.Versions[number - 1], variables)
            : GatewayError.NotFound("prompt version", version ?? string.Empty, "prompt.version"));
    }

    /// <summary>
    /// Puts a new prompt in its tenant's directory, after the prompt itself is written: a failure is logged and does not
    /// fail the creation (as the conversation index, decision 0069), so the list may then miss it; its id still opens it.
    /// </summary>
    private async Task Listed(PromptVersion first)
    {
        var (tenant, id) = GrainKeys.Parse(this.GetPrimaryKeyString());
        string? failure;
        try
        {
            failure = (await GrainFactory.GetGrain<IPromptDirectoryGrain>(tenant).Put(PromptEntry.Of(id, first)))?.Message;
        }
        catch (Exception exception) when (exception is TimeoutException or OrleansException)
        {
            failure = exception.Message;
        }

        if (failure is not null)
        {
            LogNotListed(logger, tenant, id, failure);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Prompt {PromptId} of tenant {Tenant} was not put in the tenant's prompt list: {Reason}")]
    private static partial void LogNotListed(ILogger logger, string tenant, string promptId, string reason);

    private GatewayError NotFound => GatewayError.NotFound("prompt", PromptId);

    private PromptView View() => new(PromptId, state.State.Versions, state.State.Labels);
}

[GenerateSerializer, Alias("conv.PromptState")]
public sealed record PromptState
{
    [Id(0)] public IReadOnlyList<PromptVersion> Versions { get; init; } = [];

    [Id(1)] public IReadOnlyDictionary<string, int> Labels { get; init; } = new Dictionary<string, int>(StringComparer.Ordinal);
}
