using Conversations.Tenancy;
using Microsoft.Extensions.Logging;

namespace Conversations.Grains.Tenancy;

/// <summary>Secret hash to key location. Registered once; the tenant grain decides whether the key is valid.</summary>
public sealed class ApiKeyIndexGrain(
    [PersistentState("keyindex", StorageNames.Conversations)] IPersistentState<KeyIndexState> state,
    ILogger<ApiKeyIndexGrain> logger) : Grain, IApiKeyIndexGrain
{
    public Task<GatewayError?> Register(KeyLocation location)
    {
        if (state.State.Location is not null)
        {
            // Hash collisions of 192-bit random secrets do not happen; a second registration is a bug.
            throw new InvalidOperationException("This key hash is already registered.");
        }

        return state.TryReplace(new KeyIndexState { Location = location }, this, logger);
    }

    public Task<KeyLocation?> Find() => Task.FromResult(state.State.Location);
}

[GenerateSerializer, Alias("tenancy.KeyIndexState")]
public sealed record KeyIndexState
{
    [Id(0)] public KeyLocation? Location { get; init; }
}
