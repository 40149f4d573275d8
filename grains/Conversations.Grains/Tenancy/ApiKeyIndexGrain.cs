using Conversations.Tenancy;

namespace Conversations.Grains.Tenancy;

/// <summary>Secret hash to key location. Registered once; the tenant grain decides whether the key is valid.</summary>
public sealed class ApiKeyIndexGrain(
    [PersistentState("keyindex", StorageNames.Conversations)] IPersistentState<KeyIndexState> state) : Grain, IApiKeyIndexGrain
{
    public async Task Register(KeyLocation location)
    {
        if (state.State.Location is not null)
        {
            // Hash collisions of 192-bit random secrets do not happen; a second registration is a bug.
            throw new InvalidOperationException("This key hash is already registered.");
        }

        state.State = new KeyIndexState { Location = location };
        await state.WriteStateAsync();
    }

    public Task<KeyLocation?> Find() => Task.FromResult(state.State.Location);
}

[GenerateSerializer, Alias("tenancy.KeyIndexState")]
public sealed record KeyIndexState
{
    [Id(0)] public KeyLocation? Location { get; init; }
}
